import LogbookJSON

/// Builds one line of JSON output as bytes: a small, correct string escaper plus helpers for
/// objects whose fields are added in order.
///
/// Keys and values are bytes. `field(_:bytes:)` writes valid UTF-8 as a JSON string under
/// `name` and anything else as standard base64 under `name_base64`, so every byte survives.
struct JSONLine {
    private(set) var bytes: [UInt8] = []
    /// Whether the next field is the first of its object (no comma before it).
    private var first = true

    init() {}

    /// One object and a newline, `{...}\n`, whose fields `body` adds.
    static func object(_ body: (inout JSONLine) -> Void) -> JSONLine {
        var line = JSONLine()
        line.raw("{")
        body(&line)
        line.raw("}\n")
        return line
    }

    /// `{"key":K,"value":V}\n` (`key_base64`/`value_base64` for bytes that are not UTF-8; no
    /// value when nil): a pair as `scan --json` and `export` write it.
    static func pair(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer?) -> JSONLine {
        object { line in
            line.field("key", bytes: [UInt8](key))
            if let value { line.field("value", bytes: [UInt8](value)) }
        }
    }

    /// Appends raw JSON text; `{` starts a new object (the next field gets no comma).
    mutating func raw(_ text: String) {
        bytes.append(contentsOf: text.utf8)
        first = text.last == "{" || text.last == "["
    }

    /// `"name":"value"` with `value` escaped.
    mutating func field(_ name: String, string value: String) {
        key(name)
        Self.appendString(Array(value.utf8), to: &bytes)
    }

    /// `"name":N`.
    mutating func field(_ name: String, number value: Int) {
        key(name)
        bytes.append(contentsOf: String(value).utf8)
    }

    /// `"name":D` with `value` rounded to `digits` decimals.
    mutating func field(_ name: String, decimal value: Double, digits: Int = 6) {
        key(name)
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        bytes.append(contentsOf: String((value * scale).rounded() / scale).utf8)
    }

    /// `"name":true` or `false`.
    mutating func field(_ name: String, bool value: Bool) {
        key(name)
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    /// `"name":"text"` when `value` is valid UTF-8, else `"name_base64":"..."`.
    mutating func field(_ name: String, bytes value: [UInt8]) {
        if UTF8Check.isValid(value) {
            key(name)
            Self.appendString(value, to: &bytes)
        } else {
            key(name + "_base64")
            bytes.append(UInt8(ascii: "\""))
            bytes.append(contentsOf: Base64.encode(value))
            bytes.append(UInt8(ascii: "\""))
        }
    }

    /// An array element `"value"`, preceded by a comma unless it is the array's first.
    mutating func element(string value: String) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        first = false
        Self.appendString(Array(value.utf8), to: &bytes)
    }

    /// `"name":` preceded by a comma unless it is the object's first field.
    mutating func key(_ name: String) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        first = false
        Self.appendString(Array(name.utf8), to: &bytes)
        bytes.append(UInt8(ascii: ":"))
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// Appends `utf8` (valid UTF-8) as a quoted JSON string: `"` and `\` escaped, control
    /// characters as `\n`, `\t`, `\r`, `\b`, `\f` or `\u00XX`; everything else as is.
    static func appendString(_ utf8: [UInt8], to out: inout [UInt8]) {
        out.reserveCapacity(out.count + utf8.count + 2)
        out.append(UInt8(ascii: "\""))
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0x08: out.append(contentsOf: [0x5C, UInt8(ascii: "b")])
            case 0x0C: out.append(contentsOf: [0x5C, UInt8(ascii: "f")])
            case 0x00..<0x20:
                out.append(contentsOf: Array("\\u00".utf8))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
