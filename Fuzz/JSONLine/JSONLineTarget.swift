import FuzzSupport
// fuzz-json-line: JSONParser.parse, the CLI's parser of JSON input lines (`batch` reads them from
// stdin, `import` from a file), over arbitrary bytes.
import LogbookJSON

#if FUZZING
    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
        JSONLineTarget.run(UnsafeRawBufferPointer(start: data, count: size))
        return 0
    }

    @main enum Main { static func main() { Fuzz.runLibFuzzer(fuzzTestOneInput) } }
#else
    @main enum Main { static func main() { Fuzz.replay("fuzz-json-line", JSONLineTarget.run) } }
#endif

/// Input: one JSON text, as a line of `batch` or `import` holds it.
///
/// Properties: parsing never traps, whatever the bytes; a rejection names an offset within the
/// input; a value parsed is nested at most `JSONParser.maxDepth` deep, its strings and names
/// are valid UTF-8, an object's names are unique, each number's text parses alone as that
/// number; and the value written back as JSON (`canonical`) parses to the same value, and
/// writes back to the same bytes.
enum JSONLineTarget {
    static func run(_ data: UnsafeRawBufferPointer) {
        let input = Array(data)
        let value: JSONValue
        do throws(JSONSyntaxError) { value = try JSONParser.parse(input) } catch {
            Fuzz.require(
                error.offset >= 0 && error.offset <= input.count,
                "rejected at offset \(error.offset) of \(input.count) bytes: \(error.message)")
            return
        }
        check(value, depth: 1)
        var text: [UInt8] = []
        canonical(value, into: &text)
        do throws(JSONSyntaxError) {
            let again = try JSONParser.parse(text)
            Fuzz.require(again == value, "\(value) written as \(text) parses to \(again)")
            var twice: [UInt8] = []
            canonical(again, into: &twice)
            Fuzz.require(twice == text, "\(value) is written as \(text), then as \(twice)")
        } catch {
            Fuzz.fail("\(value) written as \(text) is rejected: \(error.message) at \(error.offset)")
        }
    }

    /// The properties of a parsed value at nesting `depth` (1 for the top).
    private static func check(_ value: JSONValue, depth: Int) {
        switch value {
        case .null, .bool:
            break
        case .number(let text):
            let alone = try? JSONParser.parse(text)
            Fuzz.require(alone == .number(text), "number text \(text) does not parse alone as itself")
        case .string(let bytes):
            Fuzz.require(String(validating: bytes, as: UTF8.self) != nil, "string \(bytes) is not valid UTF-8")
        case .array(let elements):
            Fuzz.require(depth <= JSONParser.maxDepth, "an array nested \(depth) deep")
            for element in elements { check(element, depth: depth + 1) }
        case .object(let members):
            Fuzz.require(depth <= JSONParser.maxDepth, "an object nested \(depth) deep")
            Fuzz.require(Set(members.map(\.name)).count == members.count, "an object with a name twice")
            for member in members {
                Fuzz.require(String(validating: member.name, as: UTF8.self) != nil, "name \(member.name) is not UTF-8")
                check(member.value, depth: depth + 1)
            }
        }
    }

    /// `value` as compact JSON: no whitespace, strings with `"`, `\` and control characters
    /// escaped (the last as `\u00XX`), everything else as its UTF-8 bytes; numbers as parsed.
    static func canonical(_ value: JSONValue, into out: inout [UInt8]) {
        switch value {
        case .null: out += Array("null".utf8)
        case .bool(let b): out += Array((b ? "true" : "false").utf8)
        case .number(let text): out += text
        case .string(let bytes): string(bytes, into: &out)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (i, element) in elements.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                canonical(element, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (i, member) in members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                string(member.name, into: &out)
                out.append(UInt8(ascii: ":"))
                canonical(member.value, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func string(_ bytes: [UInt8], into out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: "\""))
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), byte]
            case 0..<0x20: out += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 15)]]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
