// `KeyMap(sortedUnique:)` from entries given as arrays, for tests that build maps from models.

@testable import Logbook

extension KeyMap {
    init(sortedUnique entries: some Sequence<Entry>, chunkLimit: Int = KeyMap.maxChunk) {
        let entries = Array(entries)
        let bytes = entries.flatMap { $0.key + $0.value }
        self = bytes.withUnsafeBytes { bytes in
            var offset = 0
            var raw: [RawEntry] = []
            for entry in entries {
                let key = UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + entry.key.count])
                offset += entry.key.count
                let value = UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + entry.value.count])
                offset += entry.value.count
                raw.append(RawEntry(key: key, value: value, sequence: entry.sequence))
            }
            return KeyMap(sortedUnique: raw, chunkLimit: chunkLimit)
        }
    }
}
