import Logbook

/// Checks keys and values against `Limits` before anything is opened or written, so bad input
/// exits 2 and changes nothing (not even creating the store).
enum Validate {
    /// `key` if it is 1...`Limits.maxKeySize` bytes.
    static func key(_ key: [UInt8], _ place: String = "") throws(CLIError) -> [UInt8] {
        guard !key.isEmpty else {
            throw CLIError.usage("\(place)key is empty; keys are 1 to \(Limits.maxKeySize) bytes")
        }
        guard key.count <= Limits.maxKeySize else {
            throw CLIError.usage("\(place)key is \(key.count) bytes; the limit is \(Limits.maxKeySize)")
        }
        return key
    }

    /// `value` if it is at most `Limits.maxValueSize` bytes.
    static func value(_ value: [UInt8], _ place: String = "") throws(CLIError) -> [UInt8] {
        guard value.count <= Limits.maxValueSize else {
            throw CLIError.usage("\(place)value is \(value.count) bytes; the limit is \(Limits.maxValueSize)")
        }
        return value
    }
}
