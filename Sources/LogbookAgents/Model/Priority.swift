/// Task priorities: 0 is the most urgent, 4 the least; 2 is the default.
///
/// | value | name |
/// | --- | --- |
/// | 0 | critical |
/// | 1 | high |
/// | 2 | medium |
/// | 3 | low |
/// | 4 | backlog |
public enum Priority {
    public static let range = 0...4
    public static let `default` = 2
    public static let names = ["critical", "high", "medium", "low", "backlog"]

    /// Parses `0`...`4`, `P0`...`P4` or a name.
    public static func parse(_ text: String) throws(AgentError) -> Int {
        var digits = Substring(text)
        if digits.first == "P" || digits.first == "p" { digits = digits.dropFirst() }
        if digits.count == 1, let value = Int(digits), range.contains(value) { return value }
        if let index = names.firstIndex(of: text.lowercased()) { return index }
        throw AgentError.invalid(
            "priority must be 0 to 4 (0 most urgent) or critical, high, medium, low, backlog; not \"\(text)\""
        )
    }

    /// `value` if it is within `range`.
    static func validated(_ value: Int) throws(AgentError) -> Int {
        guard range.contains(value) else {
            throw AgentError.invalid("priority must be 0 to 4 (0 most urgent), not \(value)")
        }
        return value
    }
}
