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
    }

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

    init(_ parts: Parts) {
        chunkLimit = parts.chunkLimit
        prefix = parts.prefix
        separators = parts.separators
        fences = parts.fences
        filter = parts.filter
    }

    /// The directory of an empty map.
    convenience init(chunkLimit: Int) {
        self.init(Parts(chunkLimit: chunkLimit, prefix: [], separators: [], fences: [], filter: KeyFilter.none))
    }

    /// The directory of every empty map with chunks of `KeyMap.maxChunk`.
    static let empty = KeyMapDirectory(chunkLimit: KeyMap.maxChunk)

    /// Held by a map only while its directory is being built again.
    static let placeholder = KeyMapDirectory(chunkLimit: 2)

    var parts: Parts {
        Parts(chunkLimit: chunkLimit, prefix: prefix, separators: separators, fences: fences, filter: filter)
    }
}
