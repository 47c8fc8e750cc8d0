import FuzzSupport
// fuzz-snapshot-block: SnapshotFormat.decodeBlock over arbitrary block payloads (snapshot-N.dat).
@_spi(Testing) import Logbook

#if FUZZING
    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
        SnapshotBlockTarget.run(UnsafeRawBufferPointer(start: data, count: size))
        return 0
    }

    @main enum Main { static func main() { Fuzz.runLibFuzzer(fuzzTestOneInput) } }
#else
    @main enum Main { static func main() { Fuzz.replay("fuzz-snapshot-block", SnapshotBlockTarget.run) } }
#endif

/// Input: a control byte (bit 1: pass an expected entry count), a u16 expected count, then the
/// block payload (its CRC is the reader's business, checked before decoding).
///
/// Properties: decoding never traps and never allocates beyond the payload's size; a block that
/// decodes is non-empty, its keys strictly ascending and within the limits, and it re-encodes to
/// exactly its bytes; the expected count is honoured exactly: a block decodes with count n iff
/// it decodes without one to n entries.
enum SnapshotBlockTarget {
    static func run(_ data: UnsafeRawBufferPointer) {
        var input = FuzzInput(data)
        let control = input.byte()
        let expected = Int(input.integer(UInt16.self))
        let payload = input.rest()

        let free = decode(payload, nil)
        if let entries = free {
            Fuzz.require(!entries.isEmpty, "decoded an empty block")
            var reencoded: [UInt8] = []
            var previous: [UInt8]? = nil
            for entry in entries {
                Fuzz.require((1...Limits.maxKeySize).contains(entry.key.count), "key of \(entry.key.count) bytes")
                Fuzz.require(entry.value.count <= Limits.maxValueSize, "value of \(entry.value.count) bytes")
                if let previous { Fuzz.require(previous.lexicographicallyPrecedes(entry.key), "keys not ascending") }
                previous = entry.key
                SnapshotFormat.appendEntry(entry.key, entry.value, entry.sequence, to: &reencoded)
            }
            Fuzz.require(reencoded == payload, "the block re-encodes differently")
            Fuzz.require(decode(payload, entries.count)?.count == entries.count, "rejected with its own count")
            Fuzz.require(decode(payload, entries.count + 1) == nil, "accepted with one entry too many")
        }
        if control & 1 != 0 {
            let counted = decode(payload, expected)
            Fuzz.require(
                (counted != nil) == (free?.count == expected),
                "count \(expected): decodes \(counted?.count ?? -1), without a count \(free?.count ?? -1)")
        }
    }

    static func decode(_ payload: [UInt8], _ count: Int?) -> [(key: [UInt8], value: [UInt8], sequence: UInt64)]? {
        payload.withUnsafeBytes { SnapshotFormat.decodeBlockEntries($0, expectedCount: count) }
    }
}
