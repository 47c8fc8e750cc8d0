/// The top level of a `KeyMap`, immutable: its chunk size limit, the prefix every key shares,
/// the separator keys between chunks with their search words, and the key filter. One reference
/// for all of them keeps a map (and a `View`, which holds two) cheap to copy; it changes only
/// when chunks split or merge, the prefix shortens, or the filter is replaced, and is then
/// built again (O(chunks), like the chunk list).
final class KeyMapDirectory: Sendable {
    struct Parts {
        var chunkLimit: Int
        var prefix: [UInt8]
        var separators: [[UInt8]]
        var fences: [UInt64]
        var filter: KeyFilter
        /// See `KeyMapDirectory.tails`; kept by `insertSeparator`, `removeSeparator`, `rebase`.
        var tails: [UInt8] = []

        /// Parts with the fences and tails of `separators` after `prefix`.
        init(chunkLimit: Int, prefix: [UInt8], separators: [[UInt8]], filter: KeyFilter) {
            self.chunkLimit = chunkLimit
            self.prefix = prefix
            self.separators = separators
            fences = []
            self.filter = filter
            rebase()
        }

        /// The parts of `directory`, to change and build a new one from.
        fileprivate init(_ directory: KeyMapDirectory) {
            chunkLimit = directory.chunkLimit
            prefix = directory.prefix
            separators = directory.separators
            fences = directory.fences
            filter = directory.filter
            tails = directory.tails
        }

        /// Inserts `separator` at `index`, with its fence and tail.
        mutating func insertSeparator(_ separator: [UInt8], at index: Int) {
            separators.insert(separator, at: index)
            fences.insert(KeyMapChunk.word(separator, from: prefix.count), at: index)
            tails.insert(contentsOf: KeyMapDirectory.tail(separator, from: prefix.count), at: index * tailBytes)
        }

        /// Removes separator `index`, with its fence and tail.
        mutating func removeSeparator(at index: Int) {
            separators.remove(at: index)
            fences.remove(at: index)
            tails.removeSubrange(index * tailBytes..<(index + 1) * tailBytes)
        }

        /// Takes every fence and tail again, after `prefix` (which changed).
        mutating func rebase() {
            fences = separators.map { KeyMapChunk.word($0, from: prefix.count) }
            tails = []
            tails.reserveCapacity(separators.count * tailBytes)
            for separator in separators { tails += KeyMapDirectory.tail(separator, from: prefix.count) }
        }
    }

    /// Bytes of a separator's tail (see `tails`).
    static let tailBytes = 32

    /// Most entries a chunk holds.
    let chunkLimit: Int
    /// Bytes every key in the map and every separator starts with.
    let prefix: [UInt8]
    /// `separators[c]` is >= every key of chunk `c` and < every key of chunk `c + 1`.
    let separators: [[UInt8]]
    /// `KeyMapChunk.word` of each separator after `prefix`.
    let fences: [UInt64]
    /// Holds every key of the map (see `KeyFilter`).
    let filter: KeyFilter
    /// For separator `i`, at `i * tailBytes`: its length after the fence's seven bytes (capped at
    /// 255), then its next `tailBytes - 1` bytes, zero-padded. Keys that share long prefixes
    /// (`ag/t/T-20261127-104512-...`) tie on many fences; the search tells those separators
    /// apart here, in one array, instead of loading each one's own allocation, a cache miss a
    /// step.
    let tails: [UInt8]

    init(_ parts: Parts) {
        chunkLimit = parts.chunkLimit
        prefix = parts.prefix
        separators = parts.separators
        fences = parts.fences
        filter = parts.filter
        tails = parts.tails
    }

    /// The directory of an empty map.
    convenience init(chunkLimit: Int) {
        self.init(Parts(chunkLimit: chunkLimit, prefix: [], separators: [], filter: KeyFilter.none))
    }

    /// `separator`'s tail (see `tails`) when the fences are taken after `prefixLength` bytes.
    static func tail(_ separator: [UInt8], from prefixLength: Int) -> [UInt8] {
        var tail = [UInt8](repeating: 0, count: tailBytes)
        let start = prefixLength + 7
        guard separator.count > start else { return tail }
        tail[0] = UInt8(min(separator.count - start, 255))
        let copied = min(separator.count - start, tailBytes - 1)
        tail.replaceSubrange(1..<1 + copied, with: separator[start..<start + copied])
        return tail
    }

    /// The order of separator `index` against `key` from byte `start` (the prefix and the
    /// fence's seven bytes, which both share, both going on past them), read from the tails;
    /// nil when the tail cannot tell (both go on past it).
    @inline(__always)
    func compareTail(_ index: Int, _ key: UnsafeRawPointer, _ keyCount: Int, from start: Int) -> Int32? {
        tails.withUnsafeBufferPointer { tails -> Int32? in
            let tail = UnsafeRawPointer(tails.baseAddress.unsafelyUnwrapped + index &* Self.tailBytes)
            let stored = Int(tail.load(as: UInt8.self))
            let keyRest = keyCount &- start
            let n = min(min(stored, keyRest), Self.tailBytes &- 1)
            let order = compareRaw(tail + 1, n, key + start, n)
            if order != 0 { return order }
            // Equal over `n` bytes: a side that ends there is the smaller (both, the same key).
            if stored < Self.tailBytes &- 1 || keyRest < Self.tailBytes &- 1 {
                return stored == keyRest ? 0 : (stored < keyRest ? -1 : 1)
            }
            return nil
        }
    }

    /// The directory of every empty map with chunks of `KeyMap.maxChunk`.
    static let empty = KeyMapDirectory(chunkLimit: KeyMap.maxChunk)

    /// Held by a map only while its directory is being built again.
    static let placeholder = KeyMapDirectory(chunkLimit: 2)

    var parts: Parts { Parts(self) }
}
