// The snapshot's byte layout: a data file of checksummed blocks and an index over them.
//
// snapshot-N.dat:
//
//      header (32 bytes): magic "LOGBKSNP", version u32 (1), reserved u32, snapshot number u64,
//                         CRC32C of bytes 0..<24 u32, reserved u32
//      block*:
//        0   4  payload length P (1 <= P <= maxBlock)
//        4   4  CRC32C of the payload
//        8   P  entries, in key order, each:
//                 2  key length K (1...Limits.maxKeySize)
//                 4  value length V (<= Limits.maxValueSize)
//                 8  sequence number of the commit that wrote it
//                 K  key
//                 V  value
//
// snapshot-N.idx:
//
//      header (56 bytes):
//        0   8  magic "LOGBKIDX"
//        8   4  version (1)
//       12   4  reserved, 0
//       16   8  snapshot number N
//       24   8  key count
//       32   8  block count B
//       40   8  data file size
//       48   4  CRC32C of the body
//       52   4  CRC32C of bytes 0..<52
//      body: B entries, one per block in order:
//        8  block offset in the data file
//        4  payload length
//        4  entry count
//        2  length of the block's last key
//           the block's last key

@_spi(Testing) public enum SnapshotFormat {
    static let dataMagic: [UInt8] = Array("LOGBKSNP".utf8)
    static let indexMagic: [UInt8] = Array("LOGBKIDX".utf8)
    public static let dataHeaderSize = 32
    public static let indexHeaderSize = 56
    public static let blockHeaderSize = 8
    /// A block closes when the next entry would take it past this size (a larger entry gets a
    /// block of its own).
    public static let targetBlock = 4096
    /// The largest block a reader accepts.
    public static let maxBlock = 14 + Limits.maxKeySize + Limits.maxValueSize
    static let entryHeaderSize = 14

    public static func dataName(_ number: UInt64) -> String { "snapshot-\(number).dat" }
    public static func indexName(_ number: UInt64) -> String { "snapshot-\(number).idx" }

    public static func dataHeader(number: UInt64) -> [UInt8] {
        var bytes = dataMagic
        bytes.appendLittleEndian(UInt32(1))
        bytes.appendLittleEndian(UInt32(0))
        bytes.appendLittleEndian(number)
        bytes.appendLittleEndian(CRC32C.checksum(bytes))
        bytes.appendLittleEndian(UInt32(0))
        return bytes
    }

    /// The snapshot number in a data file header, or nil when invalid.
    public static func parseDataHeader(_ bytes: [UInt8]) -> UInt64? {
        guard bytes.count >= dataHeaderSize, bytes[0..<8].elementsEqual(dataMagic),
            bytes.loadLittleEndian(UInt32.self, at: 8) == 1, bytes.loadLittleEndian(UInt32.self, at: 12) == 0,
            bytes.loadLittleEndian(UInt32.self, at: 24) == CRC32C.checksum(bytes[0..<24]),
            bytes.loadLittleEndian(UInt32.self, at: 28) == 0
        else { return nil }
        return bytes.loadLittleEndian(UInt64.self, at: 16)
    }

    /// Appends one block entry (key length, value length, sequence, key, value) to `out`.
    @_spi(Testing) public static func appendEntry(
        _ key: [UInt8], _ value: [UInt8], _ sequence: UInt64, to out: inout [UInt8]
    ) {
        key.withUnsafeBytes { key in value.withUnsafeBytes { value in appendEntry(key, value, sequence, to: &out) } }
    }

    /// `appendEntry` of bytes in place.
    static func appendEntry(
        _ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, _ sequence: UInt64, to out: inout [UInt8]
    ) {
        out.appendLittleEndian(UInt16(key.count))
        out.appendLittleEndian(UInt32(value.count))
        out.appendLittleEndian(sequence)
        out.append(contentsOf: key)
        out.append(contentsOf: value)
    }

    /// Decodes a block payload (checksum already checked); nil when malformed. Never traps.
    static func decodeBlock(_ payload: UnsafeRawBufferPointer, expectedCount: Int? = nil) -> [KeyMap.Entry]? {
        var reader = ByteReader(payload)
        var entries: [KeyMap.Entry] = []
        if let expectedCount { entries.reserveCapacity(min(expectedCount, payload.count / entryHeaderSize + 1)) }
        var previous: [UInt8]? = nil
        while !reader.isAtEnd {
            guard let keyLength = reader.read(UInt16.self), keyLength >= 1, Int(keyLength) <= Limits.maxKeySize,
                let valueLength = reader.read(UInt32.self), Int(valueLength) <= Limits.maxValueSize,
                let sequence = reader.read(UInt64.self), let key = reader.bytes(Int(keyLength)),
                let value = reader.bytes(Int(valueLength))
            else { return nil }
            if let previous, compareBytes(previous, key) >= 0 { return nil }  // keys strictly ascending
            previous = key
            entries.append(KeyMap.Entry(key: key, value: value, sequence: sequence))
        }
        if entries.isEmpty { return nil }
        if let expectedCount, expectedCount != entries.count { return nil }
        return entries
    }

    /// What `checkBlock` found.
    enum BlockCheck: Equatable {
        case valid
        /// Framing, lengths, order, entry count or last key do not match.
        case malformed
        /// Well formed, but an entry carries a sequence number beyond the snapshot's.
        case newer(sequence: UInt64)
    }

    /// Checks a block payload (checksum already checked) without decoding it: the rules of
    /// `decodeBlock`, plus that its last key is `lastKey` and no entry's sequence number
    /// exceeds `maxSequence`. Never traps.
    static func checkBlock(
        _ payload: UnsafeRawBufferPointer, expectedCount: Int, lastKey: UnsafeRawBufferPointer, maxSequence: UInt64
    ) -> BlockCheck {
        var offset = 0
        var count = 0
        var previous = UnsafeRawBufferPointer(start: nil, count: 0)
        var newer: UInt64? = nil
        while offset < payload.count {
            guard payload.count - offset >= entryHeaderSize else { return .malformed }
            let keyLength = Int(UInt16(littleEndian: payload.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
            let valueLength = Int(
                UInt32(littleEndian: payload.loadUnaligned(fromByteOffset: offset + 2, as: UInt32.self)))
            let sequence = UInt64(littleEndian: payload.loadUnaligned(fromByteOffset: offset + 6, as: UInt64.self))
            let keyStart = offset + entryHeaderSize
            guard keyLength >= 1, keyLength <= Limits.maxKeySize, valueLength <= Limits.maxValueSize,
                payload.count - keyStart >= keyLength + valueLength
            else { return .malformed }
            let key = UnsafeRawBufferPointer(rebasing: payload[keyStart..<keyStart + keyLength])
            if count > 0,
                compareRaw(previous.baseAddress, previous.count, key.baseAddress, key.count) >= 0
            {
                return .malformed  // keys strictly ascending
            }
            if sequence > maxSequence, newer == nil { newer = sequence }
            previous = key
            count += 1
            offset = keyStart + keyLength + valueLength
        }
        guard count > 0, count == expectedCount,
            compareRaw(previous.baseAddress, previous.count, lastKey.baseAddress, lastKey.count) == 0
        else { return .malformed }
        return newer.map { .newer(sequence: $0) } ?? .valid
    }

    /// `decodeBlock` for tests and fuzzers: the entries as (key, value, sequence); nil when malformed.
    @_spi(Testing) public static func decodeBlockEntries(
        _ payload: UnsafeRawBufferPointer, expectedCount: Int? = nil
    ) -> [(key: [UInt8], value: [UInt8], sequence: UInt64)]? {
        decodeBlock(payload, expectedCount: expectedCount)?.map { ($0.key, $0.value, $0.sequence) }
    }

    /// One block's entry in the index.
    public struct BlockHandle: Sendable, Equatable {
        public var offset: UInt64
        public var length: UInt32
        public var count: UInt32
        public var lastKey: [UInt8]

        public init(offset: UInt64, length: UInt32, count: UInt32, lastKey: [UInt8]) {
            self.offset = offset
            self.length = length
            self.count = count
            self.lastKey = lastKey
        }
    }

    /// A decoded index. The blocks' last keys are kept back to back in one array, not one array
    /// each: opening a store decodes every handle, and a large snapshot has thousands.
    public struct Index: Sendable {
        public var number: UInt64
        public var keyCount: UInt64
        public var dataSize: UInt64
        /// Block `i`'s place and count; its last key is `lastKeys[keyEnds[i - 1]..<keyEnds[i]]`
        /// (from 0 for block 0).
        let spans: [(offset: UInt64, length: UInt32, count: UInt32)]
        let keyEnds: [Int]
        let lastKeys: [UInt8]

        public init(number: UInt64, keyCount: UInt64, dataSize: UInt64, blocks: [BlockHandle]) {
            var lastKeys: [UInt8] = []
            var keyEnds: [Int] = []
            keyEnds.reserveCapacity(blocks.count)
            for block in blocks {
                lastKeys.append(contentsOf: block.lastKey)
                keyEnds.append(lastKeys.count)
            }
            self.init(
                number: number, keyCount: keyCount, dataSize: dataSize,
                spans: blocks.map { ($0.offset, $0.length, $0.count) }, keyEnds: keyEnds, lastKeys: lastKeys)
        }

        init(
            number: UInt64, keyCount: UInt64, dataSize: UInt64,
            spans: [(offset: UInt64, length: UInt32, count: UInt32)],
            keyEnds: [Int], lastKeys: [UInt8]
        ) {
            self.number = number
            self.keyCount = keyCount
            self.dataSize = dataSize
            self.spans = spans
            self.keyEnds = keyEnds
            self.lastKeys = lastKeys
        }

        public var blockCount: Int { spans.count }

        /// Where block `i`'s last key lies in `lastKeys`.
        func lastKeyRange(_ i: Int) -> Range<Int> { (i == 0 ? 0 : keyEnds[i - 1])..<keyEnds[i] }

        /// Block `i`'s handle, its last key copied out.
        public func block(_ i: Int) -> BlockHandle {
            BlockHandle(
                offset: spans[i].offset, length: spans[i].length, count: spans[i].count,
                lastKey: Array(lastKeys[lastKeyRange(i)]))
        }

        /// Every block's handle (for tools and tests: each last key is copied out).
        public var blocks: [BlockHandle] { (0..<blockCount).map(block) }
    }

    public static func encodeIndex(_ index: Index) -> [UInt8] {
        var body: [UInt8] = []
        for i in 0..<index.blockCount {
            let span = index.spans[i]
            let key = index.lastKeyRange(i)
            body.appendLittleEndian(span.offset)
            body.appendLittleEndian(span.length)
            body.appendLittleEndian(span.count)
            body.appendLittleEndian(UInt16(key.count))
            body.append(contentsOf: index.lastKeys[key])
        }
        var bytes = indexMagic
        bytes.appendLittleEndian(UInt32(1))
        bytes.appendLittleEndian(UInt32(0))
        bytes.appendLittleEndian(index.number)
        bytes.appendLittleEndian(index.keyCount)
        bytes.appendLittleEndian(UInt64(index.blocks.count))
        bytes.appendLittleEndian(index.dataSize)
        bytes.appendLittleEndian(CRC32C.checksum(body))
        bytes.appendLittleEndian(CRC32C.checksum(bytes))
        return bytes + body
    }

    /// Decodes an index file; a reason when it is invalid. Never traps, whatever the bytes.
    public static func decodeIndex(_ bytes: [UInt8]) -> Result<Index, IndexError> {
        guard bytes.count >= indexHeaderSize, bytes[0..<8].elementsEqual(indexMagic),
            bytes.loadLittleEndian(UInt32.self, at: 8) == 1, bytes.loadLittleEndian(UInt32.self, at: 12) == 0
        else { return .failure(IndexError(offset: 0, reason: "invalid index header")) }
        guard bytes.loadLittleEndian(UInt32.self, at: 52) == CRC32C.checksum(bytes[0..<52]) else {
            return .failure(IndexError(offset: 0, reason: "index header checksum mismatch"))
        }
        guard bytes.loadLittleEndian(UInt32.self, at: 48) == CRC32C.checksum(bytes[indexHeaderSize...]) else {
            return .failure(IndexError(offset: UInt64(indexHeaderSize), reason: "index checksum mismatch"))
        }
        let number = bytes.loadLittleEndian(UInt64.self, at: 16)
        let keyCount = bytes.loadLittleEndian(UInt64.self, at: 24)
        let blockCount = bytes.loadLittleEndian(UInt64.self, at: 32)
        let dataSize = bytes.loadLittleEndian(UInt64.self, at: 40)
        guard blockCount <= UInt64(bytes.count) / 19 else {
            return .failure(IndexError(offset: 32, reason: "block count \(blockCount) out of bounds"))
        }
        var spans: [(offset: UInt64, length: UInt32, count: UInt32)] = []
        var keyEnds: [Int] = []
        var lastKeys: [UInt8] = []
        spans.reserveCapacity(Int(blockCount))
        keyEnds.reserveCapacity(Int(blockCount))
        lastKeys.reserveCapacity(max(0, bytes.count - indexHeaderSize - 18 * Int(blockCount)))  // what is not handles
        let parsed: Bool = bytes.withUnsafeBytes { raw in
            var reader = ByteReader(UnsafeRawBufferPointer(rebasing: raw[indexHeaderSize...]))
            var expectedOffset = UInt64(dataHeaderSize)
            var total: UInt64 = 0
            var previous: UnsafeRawBufferPointer? = nil
            for _ in 0..<blockCount {
                guard let offset = reader.read(UInt64.self), let length = reader.read(UInt32.self),
                    let count = reader.read(UInt32.self), let keyLength = reader.read(UInt16.self),
                    keyLength >= 1, Int(keyLength) <= Limits.maxKeySize,
                    let lastKey = reader.slice(Int(keyLength)),
                    offset == expectedOffset, length >= 1, Int(length) <= maxBlock, count >= 1
                else { return false }
                if let previous,
                    compareRaw(previous.baseAddress, previous.count, lastKey.baseAddress, lastKey.count) >= 0
                {
                    return false
                }
                previous = lastKey
                expectedOffset = offset + UInt64(blockHeaderSize) + UInt64(length)
                total += UInt64(count)
                spans.append((offset, length, count))
                lastKeys.append(contentsOf: lastKey)
                keyEnds.append(lastKeys.count)
            }
            return reader.isAtEnd && expectedOffset == dataSize && total == keyCount
        }
        guard parsed else { return .failure(IndexError(offset: UInt64(indexHeaderSize), reason: "malformed index")) }
        return .success(
            Index(
                number: number, keyCount: keyCount, dataSize: dataSize, spans: spans, keyEnds: keyEnds,
                lastKeys: lastKeys))
    }

    public struct IndexError: Error, Sendable {
        public var offset: UInt64
        public var reason: String
    }
}
