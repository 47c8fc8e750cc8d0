import LogbookJSON

/// Reading the bench's own result files (and the SQLite harness's, which have the same shape)
/// for `--compare`, through the CLI's strict JSON parser.
extension JSONValue {
    /// Parses `text`; nil when it is not valid JSON.
    static func parse(_ text: String) -> JSONValue? { try? JSONParser.parse(Array(text.utf8)) }

    subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        let name = Array(key.utf8)
        return members.first { $0.name == name }?.value
    }

    var number: Double? {
        guard case .number(let text) = self else { return nil }
        return Double(String(decoding: text, as: UTF8.self))
    }

    var string: String? {
        guard case .string(let bytes) = self else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    var array: [JSONValue] {
        guard case .array(let elements) = self else { return [] }
        return elements
    }
}
