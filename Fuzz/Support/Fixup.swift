/// Rewrites the checksums of mutated bytes so that a fuzzer gets past them to the structure
/// checks behind them. Each target fixes up only when its input's control byte asks, so the
/// checksum checks themselves are fuzzed too. The offsets follow Docs/Format.md.
public enum Fixup {
    /// The 32-byte header of a log segment or a snapshot data file: CRC at 24 over 0..<24.
    public static func fileHeader(_ bytes: inout [UInt8], at start: Int = 0) {
        guard bytes.count >= start + 28 else { return }
        bytes.storeLE(CRC32C.checksum(bytes[start..<start + 24]), at: start + 24)
    }

    /// MANIFEST: CRC at 56 over 0..<56.
    public static func manifest(_ bytes: inout [UInt8]) {
        guard bytes.count >= 60 else { return }
        bytes.storeLE(CRC32C.checksum(bytes[0..<56]), at: 56)
    }

    /// Snapshot index: body CRC at 48 over 56..., header CRC at 52 over 0..<52.
    public static func snapshotIndex(_ bytes: inout [UInt8]) {
        guard bytes.count >= 56 else { return }
        bytes.storeLE(CRC32C.checksum(bytes[56...]), at: 48)
        bytes.storeLE(CRC32C.checksum(bytes[0..<52]), at: 52)
    }

    /// Log records from `start` on: each record's CRC (at +4, over +8..<+9+L), for as long as the
    /// length fields frame whole records.
    public static func logRecords(_ bytes: inout [UInt8], from start: Int) {
        var position = start
        while position + 9 <= bytes.count {
            let length = Int(bytes.loadLE(UInt32.self, at: position))
            let end = position + 9 + length
            guard length >= 12, end <= bytes.count else { return }
            bytes.storeLE(CRC32C.checksum(bytes[(position + 8)..<end]), at: position + 4)
            position = end
        }
    }

    /// Snapshot blocks from `start` on: each block's CRC (at +4, over the payload +8..<+8+P).
    public static func snapshotBlocks(_ bytes: inout [UInt8], from start: Int) {
        var position = start
        while position + 8 <= bytes.count {
            let length = Int(bytes.loadLE(UInt32.self, at: position))
            let end = position + 8 + length
            guard end <= bytes.count else { return }
            bytes.storeLE(CRC32C.checksum(bytes[(position + 8)..<end]), at: position + 4)
            position = end
        }
    }
}

extension Array where Element == UInt8 {
    @inlinable public func loadLE<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        var value: T = 0
        for i in 0..<MemoryLayout<T>.size { value |= T(truncatingIfNeeded: self[offset + i]) << (8 * i) }
        return value
    }

    @inlinable public mutating func storeLE<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        for i in 0..<MemoryLayout<T>.size { self[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
    }

    @inlinable public mutating func appendLE<T: FixedWidthInteger>(_ value: T) {
        for i in 0..<MemoryLayout<T>.size { append(UInt8(truncatingIfNeeded: value >> (8 * i))) }
    }
}
