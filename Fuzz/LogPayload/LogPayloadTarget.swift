import FuzzSupport
// fuzz-log-payload: LogFormat.decodePayload over arbitrary bytes (a transaction payload).
@_spi(Testing) import Logbook

#if FUZZING
    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
        LogPayloadTarget.run(UnsafeRawBufferPointer(start: data, count: size))
        return 0
    }

    @main enum Main { static func main() { Fuzz.runLibFuzzer(fuzzTestOneInput) } }
#else
    @main enum Main { static func main() { Fuzz.replay("fuzz-log-payload", LogPayloadTarget.run) } }
#endif

/// Properties: decoding never traps; a payload that decodes obeys the limits and re-encodes to
/// exactly its own bytes (the encoding is canonical); framed, it reads back through the reader.
enum LogPayloadTarget {
    static func run(_ payload: UnsafeRawBufferPointer) {
        guard let record = LogFormat.decodePayload(payload) else { return }
        Fuzz.require(!record.mutations.isEmpty, "decoded a transaction with no mutations")
        for mutation in record.mutations {
            Fuzz.require((1...Limits.maxKeySize).contains(mutation.key.count), "key of \(mutation.key.count) bytes")
            if case .put(_, let value) = mutation {
                Fuzz.require(value.count <= Limits.maxValueSize, "value of \(value.count) bytes")
            }
        }
        let framed = LogFormat.encode(record)
        Fuzz.require(framed.count == LogFormat.recordHeaderSize + payload.count, "re-encoded size differs")
        Fuzz.require(framed[LogFormat.recordHeaderSize...].elementsEqual(payload), "re-encoded payload differs")
        Fuzz.require(framed.loadLE(UInt32.self, at: 0) == UInt32(payload.count), "length field")
        Fuzz.require(framed[8] == LogFormat.transactionType, "type byte")
        Fuzz.require(framed.loadLE(UInt32.self, at: 4) == CRC32C.checksum(framed[8...]), "record CRC")

        var visited: [LogRecord] = []
        let parsed = framed.withUnsafeBytes { raw in
            LogReader.parse(raw, base: 0, after: record.sequence &- 1, isFileEnd: true) { r, _ in visited.append(r) }
        }
        Fuzz.require(visited == [record], "the framed record does not read back")
        Fuzz.require(parsed.end == .clean && parsed.validEnd == UInt64(framed.count), "framed record: \(parsed)")
    }
}
