/// Checks on the text fields of records, made before anything is read or written, so bad input
/// fails with `invalidArgument` and changes nothing.
enum Validation {
    /// Longest title, in UTF-8 bytes.
    static let maxTitle = 1000
    /// Longest name (agent, label), in UTF-8 bytes.
    static let maxName = 200
    /// Longest free text (description, note, rationale, instructions, result), in UTF-8 bytes.
    static let maxText = 1 << 20

    /// An agent or label name: 1 to `maxName` bytes, no control characters (NUL included).
    static func name(_ text: String, _ what: String) throws(AgentError) -> String {
        guard !text.isEmpty else { throw AgentError.invalid("\(what) is empty") }
        guard text.utf8.count <= maxName else {
            throw AgentError.invalid("\(what) is \(text.utf8.count) bytes; the limit is \(maxName)")
        }
        guard !Self.containsByte(text, where: { $0 < 0x20 || $0 == 0x7F }) else {
            throw AgentError.invalid("\(what) \"\(text)\" contains a control character")
        }
        return text
    }

    /// A title: 1 to `maxTitle` bytes, not only spaces, no newline.
    static func title(_ text: String) throws(AgentError) -> String {
        let count = text.utf8.count
        guard Self.containsByte(text, where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }) else {
            throw AgentError.invalid("title is empty")
        }
        guard count <= maxTitle else {
            throw AgentError.invalid("title is \(count) bytes; the limit is \(maxTitle)")
        }
        guard !Self.containsByte(text, where: { $0 == 0x0A || $0 == 0x0D }) else {
            throw AgentError.invalid("title must be one line")
        }
        return text
    }

    /// Whether a UTF-8 byte of `text` satisfies `test` (a loop over the string's contiguous
    /// bytes: much cheaper than iterating `String.UTF8View`).
    @inline(__always)
    static func containsByte(_ text: String, where test: (UInt8) -> Bool) -> Bool {
        if let found = text.utf8.withContiguousStorageIfAvailable({ $0.contains(where: test) }) { return found }
        return text.utf8.contains(where: test)
    }

    /// Free text up to `maxText` bytes; `required` rejects an empty one.
    static func text(_ text: String, _ what: String, required: Bool = false) throws(AgentError) -> String {
        if required && text.allSatisfy({ $0.isWhitespace }) { throw AgentError.invalid("\(what) is empty") }
        guard text.utf8.count <= maxText else {
            throw AgentError.invalid("\(what) is \(text.utf8.count) bytes; the limit is \(maxText)")
        }
        return text
    }

    /// Names sorted, without duplicates, each checked.
    static func names(_ values: [String], _ what: String) throws(AgentError) -> [String] {
        if values.isEmpty { return [] }
        var out: [String] = []
        for value in values { out.append(try name(value, what)) }
        return Array(Set(out)).sorted()
    }

    /// Ids of `kind`, sorted, without duplicates.
    static func ids(_ values: [String], _ kind: RecordKind) throws(AgentError) -> [String] {
        if values.isEmpty { return [] }
        var out: [String] = []
        for value in values { out.append(try RecordID.validated(value, kind: kind)) }
        return Array(Set(out)).sorted()
    }

    /// A limit: nil or >= 0.
    static func limit(_ value: Int?) throws(AgentError) -> Int? {
        if let value, value < 0 { throw AgentError.invalid("limit must not be negative, got \(value)") }
        return value
    }

    /// Lease length in seconds: more than 0, at most a year.
    static func lease(_ seconds: Double) throws(AgentError) -> Double {
        guard seconds.isFinite, seconds > 0, seconds <= 366 * 86400 else {
            throw AgentError.invalid("lease must be more than 0 and at most 31622400 seconds, got \(seconds)")
        }
        return seconds
    }
}
