// MANIFEST: names the current snapshot and the log segments to replay after it.
//
//      0   8  magic "LOGBKMAN"
//      8   4  format version (1)
//     12   4  reserved, 0
//     16   8  generation (bumped by every replacement)
//     24   8  snapshot number N (snapshot-N.dat / .idx; 0 = no snapshot)
//     32   8  snapshot sequence S (the snapshot holds every commit with sequence <= S)
//     40   8  first log segment
//     48   8  last log segment (the one writers append to)
//     56   4  CRC32C of bytes 0..<56
//     60   4  reserved, 0
//
// Replaced atomically: written to MANIFEST.tmp, synced, renamed, directory synced. A store with
// no MANIFEST is generation 0: no snapshot, log segment 1.

@_spi(Testing) public struct Manifest: Sendable, Equatable {
    public var generation: UInt64
    public var snapshot: UInt64
    public var snapshotSequence: UInt64
    public var firstLog: UInt64
    public var lastLog: UInt64

    public static let fileName = "MANIFEST"
    public static let size = 64
    static let magic: [UInt8] = Array("LOGBKMAN".utf8)

    /// Every number in a MANIFEST is below this.
    public static let numberLimit: UInt64 = 1 << 63

    /// The state of a store that has never been compacted.
    public static let initial = Manifest(generation: 0, snapshot: 0, snapshotSequence: 0, firstLog: 1, lastLog: 1)

    public init(generation: UInt64, snapshot: UInt64, snapshotSequence: UInt64, firstLog: UInt64, lastLog: UInt64) {
        self.generation = generation
        self.snapshot = snapshot
        self.snapshotSequence = snapshotSequence
        self.firstLog = firstLog
        self.lastLog = lastLog
    }

    public func encode() -> [UInt8] {
        var bytes = Self.magic
        bytes.appendLittleEndian(UInt32(1))
        bytes.appendLittleEndian(UInt32(0))
        for word in [generation, snapshot, snapshotSequence, firstLog, lastLog] { bytes.appendLittleEndian(word) }
        bytes.appendLittleEndian(CRC32C.checksum(bytes))
        bytes.appendLittleEndian(UInt32(0))
        return bytes
    }

    /// Decodes a MANIFEST; nil when it is not exactly a valid version-1 manifest (which includes
    /// every number being below `numberLimit`).
    public static func decode(_ bytes: [UInt8]) -> Manifest? {
        guard bytes.count == size, bytes[0..<8].elementsEqual(magic), bytes.loadLittleEndian(UInt32.self, at: 8) == 1,
            bytes.loadLittleEndian(UInt32.self, at: 12) == 0, bytes.loadLittleEndian(UInt32.self, at: 60) == 0,
            bytes.loadLittleEndian(UInt32.self, at: 56) == CRC32C.checksum(bytes[0..<56])
        else { return nil }
        let m = Manifest(
            generation: bytes.loadLittleEndian(UInt64.self, at: 16),
            snapshot: bytes.loadLittleEndian(UInt64.self, at: 24),
            snapshotSequence: bytes.loadLittleEndian(UInt64.self, at: 32),
            firstLog: bytes.loadLittleEndian(UInt64.self, at: 40), lastLog: bytes.loadLittleEndian(UInt64.self, at: 48))
        guard m.firstLog >= 1, m.firstLog <= m.lastLog, m.lastLog - m.firstLog < 1024 else { return nil }
        // Every number must leave room to count on (the next generation, segment, snapshot and
        // sequence number): no store reaches 2^63, and a larger value is damage, not a trap later.
        guard [m.generation, m.snapshot, m.snapshotSequence, m.lastLog].allSatisfy({ $0 < Self.numberLimit }) else {
            return nil
        }
        return m
    }
}
