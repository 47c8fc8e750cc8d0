/// Decimal integers as `incr` reads and writes them: an optional `+` or `-`, then one or more
/// ASCII digits, nothing else (no spaces, no newline), within the range of a 64-bit `Int`.
enum DecimalInteger {
    /// The value `bytes` spells, or nil when it is not such a decimal integer or out of range.
    static func parse(_ bytes: [UInt8]) -> Int? {
        var i = 0
        var negative = false
        if let first = bytes.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
            negative = first == UInt8(ascii: "-")
            i = 1
        }
        guard i < bytes.count else { return nil }
        var value = 0
        while i < bytes.count {
            let b = bytes[i]
            guard b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") else { return nil }
            let digit = Int(b - UInt8(ascii: "0"))
            // Accumulate negatively so Int.min parses.
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (next, o2) = times10.subtractingReportingOverflow(digit)
            if o1 || o2 { return nil }
            value = next
            i += 1
        }
        if negative { return value }
        return value == Int.min ? nil : -value
    }
}
