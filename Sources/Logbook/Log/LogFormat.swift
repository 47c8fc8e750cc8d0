// The write-ahead log's byte layout. All integers are little-endian.
//
// A segment file `log-N.wal`:
//
//     segment header (32 bytes)
//       0   8  magic "LOGBKWAL"
//       8   4  format version (1)
//      12   4  reserved, 0
//      16   8  segment number N
//      24   4  CRC32C of bytes 0..<24
//      28   4  reserved, 0 (outside the CRC, so readers require exactly 0)
//     record*
//
// A record (one committed transaction):
//
//       0   4  payload length L (12 <= L <= maxPayload)
//       4   4  CRC32C of bytes 8..<9+L (the type byte and the payload)
//       8   1  type (1 = transaction)
//       9   L  payload
//
// A transaction payload:
//
//       0   8  sequence number (the previous record's + 1)
//       8   4  mutation count M (>= 1)
//      12      M mutations, each:
//                1  kind (1 = put, 2 = delete)
//                2  key length K (1 <= K <= Limits.maxKeySize)
//                4  value length V (put only, V <= Limits.maxValueSize)
//                K  key
//                V  value (put only)
//
// The active segment may end in zero bytes after its last record: space a `normal` or
// `paranoid` writer allocated ahead (`preallocation` bytes at a time) so that its syncs need not
// also make a new file size durable, or that a `relaxed` writer allocated for the records it
// copies into a mapping of the segment (`LogMapping`). A record boundary from which every byte to the end of the
// file is zero is the end of the log (a zero length is never a valid record). Sealed segments end
// at their last record: the seal cuts the zeros off before it syncs.

/// A change to one key.
@_spi(Testing) public enum Mutation: Sendable, Equatable {
    case put(key: [UInt8], value: [UInt8])
    case delete(key: [UInt8])

    public var key: [UInt8] {
        switch self {
        case .put(let key, _), .delete(let key): return key
        }
    }
}

/// One committed transaction as it stands in the log.
@_spi(Testing) public struct LogRecord: Sendable, Equatable {
    public var sequence: UInt64
    public var mutations: [Mutation]

    public init(sequence: UInt64, mutations: [Mutation]) {
        self.sequence = sequence
        self.mutations = mutations
    }
}

@_spi(Testing) public enum LogFormat {
    public static let magic: [UInt8] = Array("LOGBKWAL".utf8)
    public static let version: UInt32 = 1
    public static let segmentHeaderSize = 32
    public static let recordHeaderSize = 9
    /// How far past the log's end a `normal` or `paranoid` writer writes zeros when an append
    /// reaches the end of what was allocated (see the layout above).
    public static let preallocation: UInt64 = 64 << 10
    public static let transactionType: UInt8 = 1
    static let putKind: UInt8 = 1
    static let deleteKind: UInt8 = 2
    /// The smallest payload: sequence + count.
    public static let minPayload = 12
    /// The largest payload a reader accepts: the transaction limit plus per-mutation framing.
    public static let maxPayload = Limits.maxTransactionSize + (1 << 20)

    /// File name of segment `number`.
    public static func segmentName(_ number: UInt64) -> String { "log-\(number).wal" }

    /// The 32-byte header of segment `number`.
    public static func segmentHeader(number: UInt64) -> [UInt8] {
        var bytes = magic
        bytes.appendLittleEndian(version)
        bytes.appendLittleEndian(UInt32(0))
        bytes.appendLittleEndian(number)
        bytes.appendLittleEndian(CRC32C.checksum(bytes))
        bytes.appendLittleEndian(UInt32(0))
        return bytes
    }

    /// The segment number in `header`, or nil when the header is not a valid version-1 header.
    public static func parseSegmentHeader(_ header: some Collection<UInt8>) -> UInt64? {
        let bytes = Array(header.prefix(segmentHeaderSize))
        guard bytes.count == segmentHeaderSize, bytes[0..<8].elementsEqual(magic),
            bytes.loadLittleEndian(UInt32.self, at: 8) == version, bytes.loadLittleEndian(UInt32.self, at: 12) == 0,
            bytes.loadLittleEndian(UInt32.self, at: 24) == CRC32C.checksum(bytes[0..<24]),
            bytes.loadLittleEndian(UInt32.self, at: 28) == 0  // reserved words are not under the CRC: must be exactly 0
        else { return nil }
        return bytes.loadLittleEndian(UInt64.self, at: 16)
    }

    /// Bytes a mutation takes in a payload.
    static func encodedSize(_ mutation: Mutation) -> Int {
        switch mutation {
        case .put(let key, let value): return 7 + key.count + value.count
        case .delete(let key): return 3 + key.count
        }
    }

    /// Appends one framed record for `record` to `out`.
    public static func appendRecord(_ record: LogRecord, to out: inout [UInt8]) {
        if out.isEmpty {
            out = encode(record)
        } else {
            out.append(contentsOf: encode(record))
        }
    }

    /// Bytes the framed record for `record` takes.
    static func framedSize(_ record: LogRecord) -> Int {
        var payloadSize = minPayload
        for mutation in record.mutations { payloadSize += encodedSize(mutation) }
        return recordHeaderSize + payloadSize
    }

    /// The framed bytes of one record.
    public static func encode(_ record: LogRecord) -> [UInt8] {
        let total = framedSize(record)
        // Sized once and written in place: appending field by field costs a capacity check each.
        return [UInt8](unsafeUninitializedCapacity: total) { buffer, count in
            encode(record, into: UnsafeMutableRawBufferPointer(buffer), size: total)
            count = total
        }
    }

    /// Writes the framed record for `record` (`size` bytes, as `framedSize` says) at the start
    /// of `raw`.
    static func encode(_ record: LogRecord, into raw: UnsafeMutableRawBufferPointer, size total: Int) {
        precondition(raw.count >= total)
        var writer = ByteWriter(raw, at: 0)
        writer.write(UInt32(total - recordHeaderSize))
        writer.write(UInt32(0))  // CRC, filled below
        writer.write(transactionType)
        writer.write(record.sequence)
        writer.write(UInt32(record.mutations.count))
        for i in record.mutations.indices {  // not `for mutation in`, which copies each one
            switch record.mutations[i] {
            case .put(let key, let value):
                writer.write(putKind)
                writer.write(UInt16(key.count))
                writer.write(UInt32(value.count))
                writer.write(key)
                writer.write(value)
            case .delete(let key):
                writer.write(deleteKind)
                writer.write(UInt16(key.count))
                writer.write(key)
            }
        }
        precondition(writer.offset == total)
        let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[8..<total]))
        raw.storeBytes(of: crc.littleEndian, toByteOffset: 4, as: UInt32.self)
    }

    /// Decodes a transaction payload; nil when it is not well formed. Never traps, whatever the bytes.
    public static func decodePayload(_ payload: UnsafeRawBufferPointer) -> LogRecord? {
        var mutations: [Mutation] = []
        guard
            let sequence = walkPayload(
                payload,
                start: { count in mutations.reserveCapacity(count) },
                mutation: { isPut, key, value in
                    mutations.append(
                        isPut ? .put(key: [UInt8](key), value: [UInt8](value)) : .delete(key: [UInt8](key)))
                })
        else { return nil }
        return LogRecord(sequence: sequence, mutations: mutations)
    }

    /// The sequence number of a well-formed transaction payload; nil when it is not well formed
    /// (exactly when `decodePayload` returns nil). Allocates nothing.
    static func payloadSequence(_ payload: UnsafeRawBufferPointer) -> UInt64? {
        walkPayload(payload, start: { _ in }, mutation: { _, _, _ in })
    }

    /// Walks a transaction payload: `start` gets the mutation count, then `mutation` each mutation
    /// in order (`isPut`, its key, its value, empty for a delete), as borrowed bytes of `payload`.
    /// Returns the sequence number, or nil when the payload is not well formed; then some
    /// mutations may have been visited already. Never traps, whatever the bytes.
    @inline(__always)
    static func walkPayload(
        _ payload: UnsafeRawBufferPointer, start: (Int) -> Void,
        mutation: (_ isPut: Bool, _ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Void
    ) -> UInt64? {
        var reader = ByteReader(payload)
        guard let sequence = reader.read(UInt64.self), let count = reader.read(UInt32.self), count >= 1,
            Int(count) <= payload.count / 3
        else { return nil }
        start(Int(count))
        for _ in 0..<count {
            guard let kind = reader.read(UInt8.self), let keyLength = reader.read(UInt16.self),
                keyLength >= 1, Int(keyLength) <= Limits.maxKeySize
            else { return nil }
            switch kind {
            case putKind:
                guard let valueLength = reader.read(UInt32.self), Int(valueLength) <= Limits.maxValueSize,
                    let key = reader.slice(Int(keyLength)), let value = reader.slice(Int(valueLength))
                else { return nil }
                mutation(true, key, value)
            case deleteKind:
                guard let key = reader.slice(Int(keyLength)) else { return nil }
                mutation(false, key, UnsafeRawBufferPointer(start: nil, count: 0))
            default:
                return nil
            }
        }
        guard reader.isAtEnd else { return nil }
        return sequence
    }
}

/// A bounds-checked cursor over bytes read from disk.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    var position = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var isAtEnd: Bool { position == bytes.count }
    var remaining: Int { bytes.count - position }

    @inline(__always)
    mutating func read<T: FixedWidthInteger>(_: T.Type) -> T? {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { return nil }
        let value = bytes.loadUnaligned(fromByteOffset: position, as: T.self)
        position += size
        return T(littleEndian: value)
    }

    mutating func bytes(_ count: Int) -> [UInt8]? {
        slice(count).map { [UInt8]($0) }
    }

    /// The next `count` bytes, borrowed from the buffer.
    @inline(__always)
    mutating func slice(_ count: Int) -> UnsafeRawBufferPointer? {
        guard count >= 0, remaining >= count else { return nil }
        defer { position += count }
        return UnsafeRawBufferPointer(rebasing: bytes[position..<position + count])
    }
}

extension Array where Element == UInt8 {
    mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    mutating func storeLittleEndian<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        withUnsafeMutableBytes { $0.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self) }
    }

    func loadLittleEndian<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
    }
}

/// Writes little-endian fields into a buffer whose size was computed beforehand.
struct ByteWriter {
    let buffer: UnsafeMutableRawBufferPointer
    var offset: Int

    init(_ buffer: UnsafeMutableRawBufferPointer, at offset: Int) {
        self.buffer = buffer
        self.offset = offset
    }

    @inline(__always)
    mutating func write<T: FixedWidthInteger>(_ value: T) {
        buffer.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
    }

    @inline(__always)
    mutating func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { source in
            precondition(offset + source.count <= buffer.count)
            if let from = source.baseAddress {
                (buffer.baseAddress! + offset).copyMemory(from: from, byteCount: source.count)
            }
        }
        offset += bytes.count
    }
}
