/// Strict UTF-8 validation (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF).
public enum UTF8Check {
    /// Whether `bytes` is entirely valid UTF-8.
    public static func isValid(_ bytes: [UInt8]) -> Bool {
        var i = 0
        while i < bytes.count {
            guard let length = sequenceLength(bytes, at: i) else { return false }
            i += length
        }
        return true
    }

    /// The length of the valid UTF-8 sequence starting at `i`, or nil when it is not valid.
    public static func sequenceLength(_ bytes: [UInt8], at i: Int) -> Int? {
        let b0 = bytes[i]
        if b0 < 0x80 { return 1 }
        func continuation(_ k: Int, _ range: ClosedRange<UInt8> = 0x80...0xBF) -> Bool {
            i + k < bytes.count && range.contains(bytes[i + k])
        }
        switch b0 {
        case 0xC2...0xDF: return continuation(1) ? 2 : nil
        case 0xE0: return continuation(1, 0xA0...0xBF) && continuation(2) ? 3 : nil
        case 0xE1...0xEC, 0xEE...0xEF: return continuation(1) && continuation(2) ? 3 : nil
        case 0xED: return continuation(1, 0x80...0x9F) && continuation(2) ? 3 : nil
        case 0xF0: return continuation(1, 0x90...0xBF) && continuation(2) && continuation(3) ? 4 : nil
        case 0xF1...0xF3: return continuation(1) && continuation(2) && continuation(3) ? 4 : nil
        case 0xF4: return continuation(1, 0x80...0x8F) && continuation(2) && continuation(3) ? 4 : nil
        default: return nil
        }
    }
}
