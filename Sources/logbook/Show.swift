import LogbookJSON

/// Renders keys and values for messages: quoted, on one line, any byte visible.
enum Show {
    /// `"task/1"`; control characters escaped as in JSON, bytes that are not UTF-8 as `\xNN`,
    /// cut after `limit` bytes with `...`.
    static func quoted(_ bytes: [UInt8], limit: Int = 80) -> String {
        var out: [UInt8] = [UInt8(ascii: "\"")]
        var i = 0
        while i < bytes.count {
            if i >= limit {
                out.append(contentsOf: Array("...".utf8))
                break
            }
            let b = bytes[i]
            if b < 0x20 || b == 0x7F {
                out.append(contentsOf: Array((b == 0x0A ? "\\n" : b == 0x09 ? "\\t" : hex(b)).utf8))
                i += 1
            } else if b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") {
                out.append(contentsOf: [UInt8(ascii: "\\"), b])
                i += 1
            } else if b < 0x80 {
                out.append(b)
                i += 1
            } else if let length = UTF8Check.sequenceLength(bytes, at: i) {
                out.append(contentsOf: bytes[i..<(i + length)])
                i += length
            } else {
                out.append(contentsOf: Array(hex(b).utf8))
                i += 1
            }
        }
        out.append(UInt8(ascii: "\""))
        return String(decoding: out, as: UTF8.self)
    }

    private static func hex(_ b: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return "\\x" + String(digits[Int(b >> 4)]) + String(digits[Int(b & 0xF)])
    }
}
