import FuzzSupport
// fuzz-snapshot-index: SnapshotFormat.decodeIndex over arbitrary bytes (snapshot-N.idx).
@_spi(Testing) import Logbook

#if FUZZING
    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
        SnapshotIndexTarget.run(UnsafeRawBufferPointer(start: data, count: size))
        return 0
    }

    @main enum Main { static func main() { Fuzz.runLibFuzzer(fuzzTestOneInput) } }
#else
    @main enum Main { static func main() { Fuzz.replay("fuzz-snapshot-index", SnapshotIndexTarget.run) } }
#endif

/// Input: a control byte (bit 1: fix up both CRCs), then the index file's bytes.
///
/// Properties: decoding never traps and never allocates beyond the input's size; an index that
/// decodes describes blocks that tile the data file from its header on, with last keys strictly
/// ascending, counts summing to the key count, and re-encodes to exactly its bytes; a rejected
/// one names an offset inside the file; an index the encoder writes from well-formed blocks
/// (built here from the input) decodes back to the same blocks; over either index, the reader's
/// block search finds what a linear walk finds.
enum SnapshotIndexTarget {
    static func run(_ data: UnsafeRawBufferPointer) {
        var input = FuzzInput(data)
        let control = input.byte()
        var bytes = input.rest()
        if control & 1 != 0 { Fixup.snapshotIndex(&bytes) }

        switch SnapshotFormat.decodeIndex(bytes) {
        case .success(let index):
            check(index)
            checkSearch(index, probes: index.blocks.map(\.lastKey))
            Fuzz.require(SnapshotFormat.encodeIndex(index) == bytes, "the index re-encodes differently")
        case .failure(let error):
            Fuzz.require(
                error.offset <= UInt64(bytes.count), "rejected at offset \(error.offset) of a \(bytes.count)-byte index"
            )
            Fuzz.require(!error.reason.isEmpty, "rejected without a reason")
        }

        // Well-formed blocks built from the input: keys are distinct chunks, sorted.
        var keys = Set<[UInt8]>()
        var chunks = FuzzInput(bytes)
        while chunks.remaining > 0 && keys.count < 64 {
            let key = chunks.take(1 + Int(chunks.byte() % 24))
            if !key.isEmpty { keys.insert(key) }
        }
        var blocks: [SnapshotFormat.BlockHandle] = []
        var offset = UInt64(SnapshotFormat.dataHeaderSize)
        var total: UInt64 = 0
        for (i, key) in keys.sorted(by: { $0.lexicographicallyPrecedes($1) }).enumerated() {
            let length = UInt32(1 + (key.count * 977 + i * 131) % 9000)
            let count = UInt32(1 + key.count % 7)
            blocks.append(SnapshotFormat.BlockHandle(offset: offset, length: length, count: count, lastKey: key))
            offset += UInt64(SnapshotFormat.blockHeaderSize) + UInt64(length)
            total += UInt64(count)
        }
        let number = UInt64(control) &* 0x9E37_79B9_7F4A_7C15
        let made = SnapshotFormat.Index(number: number, keyCount: total, dataSize: offset, blocks: blocks)
        switch SnapshotFormat.decodeIndex(SnapshotFormat.encodeIndex(made)) {
        case .success(let index):
            checkSearch(index, probes: Array(keys) + chunkProbes(bytes))
            Fuzz.require(
                index.number == number && index.keyCount == total && index.dataSize == offset && index.blocks == blocks,
                "an encoded index of \(blocks.count) blocks decodes differently")
        case .failure(let error):
            Fuzz.fail("an encoded index of \(blocks.count) blocks is rejected: \(error.reason) at \(error.offset)")
        }
    }

    /// The block search the reader builds from `index` finds, for each probe and for each
    /// probe cut short by one byte, bumped in its last byte or extended by a zero, the first
    /// block whose last key is at or after it, as a linear walk does.
    static func checkSearch(_ index: SnapshotFormat.Index, probes: [[UInt8]]) {
        var all: [[UInt8]] = [[]]
        for probe in probes {
            all.append(probe)
            all.append(probe + [0])
            if let last = probe.last {
                all.append(Array(probe.dropLast()))
                all.append(Array(probe.dropLast()) + [last &+ 1])
            }
        }
        let found = SnapshotFormat.firstBlocks(in: index, for: all)
        for (probe, block) in zip(all, found) {
            let expected =
                index.blocks.firstIndex { !$0.lastKey.lexicographicallyPrecedes(probe) } ?? index.blocks.count
            Fuzz.require(block == expected, "block search: \(probe) found block \(block), expected \(expected)")
        }
    }

    /// Keys cut from the input the way `run` cuts block keys, but longer: probes that share long
    /// prefixes with the blocks' keys when the input repeats itself.
    static func chunkProbes(_ bytes: [UInt8]) -> [[UInt8]] {
        var probes: [[UInt8]] = []
        var chunks = FuzzInput(bytes)
        while chunks.remaining > 0 && probes.count < 64 {
            probes.append(chunks.take(Int(chunks.byte() % 40)))
        }
        return probes
    }

    static func check(_ index: SnapshotFormat.Index) {
        var offset = UInt64(SnapshotFormat.dataHeaderSize)
        var total: UInt64 = 0
        var previous: [UInt8]? = nil
        for (i, block) in index.blocks.enumerated() {
            Fuzz.require(block.offset == offset, "block \(i) at \(block.offset), expected \(offset)")
            Fuzz.require(block.length >= 1 && Int(block.length) <= SnapshotFormat.maxBlock, "block \(i) length")
            Fuzz.require(block.count >= 1, "block \(i) with no entries")
            Fuzz.require(!block.lastKey.isEmpty && block.lastKey.count <= Limits.maxKeySize, "block \(i) last key size")
            if let previous {
                Fuzz.require(previous.lexicographicallyPrecedes(block.lastKey), "block \(i) last key not ascending")
            }
            previous = block.lastKey
            offset += UInt64(SnapshotFormat.blockHeaderSize) + UInt64(block.length)
            total += UInt64(block.count)
        }
        Fuzz.require(offset == index.dataSize, "blocks end at \(offset), data size \(index.dataSize)")
        Fuzz.require(total == index.keyCount, "block counts sum to \(total), key count \(index.keyCount)")
    }
}
