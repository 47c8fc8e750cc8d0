import LogbookJSON

/// One line of a JSON-lines input (`batch`, `import`): a JSON object whose field names come from
/// a fixed set, and whose keys and values are JSON strings (their UTF-8 bytes) or, under
/// `NAME_base64`, standard base64 for any bytes.
///
/// Every error is a usage error (exit 2) that names the line and says what was not done:
/// `line 3 of dump.jsonl: "key" is missing; nothing was imported`.
struct JSONInputObject {
    /// `line N of INPUT: `, the start of every message about this line.
    let place: String
    /// What the command did not do because of a bad line (`nothing was written`).
    private let consequence: String
    private var fields: [String: JSONValue] = [:]

    /// Parses every non-blank line of `input` with `parseLine` (given the line and its 1-based
    /// number), in order; the first error stops it.
    static func parseLines<Element>(
        _ input: [UInt8], _ parseLine: (_ line: [UInt8], _ number: Int) throws(CLIError) -> Element
    ) throws(CLIError) -> [Element] {
        var elements: [Element] = []
        var lineNumber = 0
        var start = 0
        while start < input.count {
            let end = input[start...].firstIndex(of: 0x0A) ?? input.count
            lineNumber += 1
            let line = Array(input[start..<end])
            start = end + 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            elements.append(try parseLine(line, lineNumber))
        }
        return elements
    }

    /// Parses `line` as one object whose field names are all in `allowed`.
    /// - Parameters:
    ///   - place: `line N of INPUT: `, the start of every message.
    ///   - consequence: the end of every message (`nothing was written`).
    init(_ line: [UInt8], allowed: [String], place: String, consequence: String) throws(CLIError) {
        self.place = place
        self.consequence = consequence
        let parsed: JSONValue
        do {
            parsed = try JSONParser.parse(line)
        } catch {
            throw self.error("malformed JSON at column \(error.offset + 1): \(error.message)")
        }
        guard case .object(let members) = parsed else { throw self.error("expected a JSON object") }
        for member in members {
            let name = String(decoding: member.name, as: UTF8.self)
            guard allowed.contains(name) else { throw self.error("unknown field \(Show.quoted(member.name))") }
            fields[name] = member.value
        }
    }

    /// The value of field `name`, nil when it is not given.
    subscript(name: String) -> JSONValue? { fields[name] }

    /// The usage error `PLACE MESSAGE; CONSEQUENCE`.
    func error(_ message: String) -> CLIError { CLIError.usage(place + message + "; " + consequence) }

    /// The bytes of field `name` (a JSON string) or `name_base64` (base64): nil when neither is
    /// given, `.some(nil)` for a JSON null when `nullable`. Giving both is an error.
    func bytes(_ name: String, nullable: Bool = false) throws(CLIError) -> [UInt8]?? {
        let plain = fields[name]
        let encoded = fields[name + "_base64"]
        if plain != nil && encoded != nil {
            throw error("give \"\(name)\" or \"\(name)_base64\", not both")
        }
        switch (plain, encoded) {
        case (nil, nil): return nil
        case (.string(let s)?, nil): return .some(s)
        case (.null?, nil) where nullable: return .some(nil)
        case (nil, .string(let s)?):
            guard let decoded = Base64.decode(s) else { throw error("\"\(name)_base64\" is not valid base64") }
            return .some(decoded)
        case (_, nil): throw error("\"\(name)\" must be a string" + (nullable ? " or null" : ""))
        default: throw error("\"\(name)_base64\" must be a string")
        }
    }
}
