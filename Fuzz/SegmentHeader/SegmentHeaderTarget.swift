import FuzzSupport
// fuzz-segment-header: the 32-byte file headers, LogFormat.parseSegmentHeader (log-N.wal) and
// SnapshotFormat.parseDataHeader (snapshot-N.dat), which share one layout.
@_spi(Testing) import Logbook

#if FUZZING
    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
        SegmentHeaderTarget.run(UnsafeRawBufferPointer(start: data, count: size))
        return 0
    }

    @main enum Main { static func main() { Fuzz.runLibFuzzer(fuzzTestOneInput) } }
#else
    @main enum Main { static func main() { Fuzz.replay("fuzz-segment-header", SegmentHeaderTarget.run) } }
#endif

/// Input: a control byte (bit 1: fix up the header CRC), a byte choosing which byte to damage,
/// then the file's first bytes.
///
/// Properties: parsing never traps; a header that parses is exactly the encoder's header for its
/// number; any header the encoder writes parses back to its number; changing any one byte of a
/// valid header makes it invalid (the CRC covers 0..<24, the reserved bytes must be zero).
enum SegmentHeaderTarget {
    static func run(_ data: UnsafeRawBufferPointer) {
        var input = FuzzInput(data)
        let control = input.byte()
        let damage = input.byte()
        var bytes = input.rest()
        if control & 1 != 0 { Fixup.fileHeader(&bytes) }

        let kinds: [(name: String, parse: ([UInt8]) -> UInt64?, encode: (UInt64) -> [UInt8])] = [
            ("segment", { LogFormat.parseSegmentHeader($0) }, { LogFormat.segmentHeader(number: $0) }),
            ("snapshot", { SnapshotFormat.parseDataHeader($0) }, { SnapshotFormat.dataHeader(number: $0) }),
        ]
        var parsedAs = 0
        for kind in kinds {
            if let number = kind.parse(bytes) {
                parsedAs += 1
                let header = kind.encode(number)
                Fuzz.require(header.count == 32, "\(kind.name) header of \(header.count) bytes")
                Fuzz.require(
                    bytes.count >= 32 && header == Array(bytes[0..<32]), "\(kind.name) \(number) re-encodes differently"
                )
                var damaged = header
                damaged[Int(damage) % 32] ^= UInt8(truncatingIfNeeded: control >> 1) | 1
                Fuzz.require(
                    kind.parse(damaged) == nil, "\(kind.name) header with byte \(Int(damage) % 32) changed parses")
            }
            // Whatever number the input holds at 16, the encoder's header for it parses back.
            let number = bytes.count >= 24 ? bytes.loadLE(UInt64.self, at: 16) : UInt64(bytes.count)
            Fuzz.require(kind.parse(kind.encode(number)) == number, "\(kind.name) header \(number) does not parse back")
            Fuzz.require(
                kind.parse(kind.encode(number) + bytes) == number, "trailing bytes change the \(kind.name) header")
        }
        Fuzz.require(parsedAs <= 1, "one header parses as both a log segment and a snapshot")
    }
}
