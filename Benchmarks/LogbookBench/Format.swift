/// Number formatting for the table and the JSON file (no Foundation).
enum Format {
    /// `x` rounded to an integer, with thousands separators: "1,234,567".
    static func count(_ x: Double) -> String {
        guard x.isFinite else { return "?" }
        let digits = String(Int(x.rounded()).magnitude)
        var grouped = ""
        for (i, digit) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { grouped.append(",") }
            grouped.append(digit)
        }
        return (x < 0 ? "-" : "") + grouped
    }

    /// `x` with a precision fitting its size: 1234 → "1234", 12.34 → "12.3", 1.234 → "1.23", 0.1234 → "0.123".
    static func decimal(_ x: Double) -> String {
        let magnitude = abs(x)
        let digits = magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : magnitude >= 1 ? 2 : 3
        return fixed(x, digits)
    }

    /// `x` with exactly `digits` decimals.
    static func fixed(_ x: Double, _ digits: Int) -> String {
        guard x.isFinite else { return "null" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = Int((abs(x) * scale).rounded())
        let whole = scaled / Int(scale)
        var text = (x < 0 && scaled != 0 ? "-" : "") + String(whole)
        if digits > 0 {
            let fraction = String(scaled % Int(scale))
            text += "." + String(repeating: "0", count: digits - fraction.count) + fraction
        }
        return text
    }

    /// A JSON number for a figure: integers for large rates and sizes, a few decimals otherwise.
    static func json(_ x: Double?) -> String {
        guard let x, x.isFinite else { return "null" }
        let magnitude = abs(x)
        if magnitude >= 1000 { return String(Int(x.rounded())) }
        return fixed(x, magnitude >= 10 ? 2 : magnitude >= 1 ? 3 : 4)
    }

    /// A measurement's figure with its unit, as the table shows it.
    static func figure(_ m: Measurement) -> String {
        guard let value = m.figure else { return m.note ?? "n/a" }
        switch m.unit {
        case "ops/s", "keys/s", "commits/s", "records/s": return "\(count(value)) \(m.unit)"
        case "x raw": return "\(fixed(value, 2))x raw"
        default: return "\(decimal(value)) \(m.unit)"
        }
    }

    /// A JSON string literal.
    static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case "\r": result += "\\r"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }

    /// `text` padded with spaces to `width` characters.
    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}
