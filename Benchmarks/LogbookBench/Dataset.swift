/// The keys and values of WORKLOADS.md: key `i` of a workload of `count` puts is the 16-byte
/// ASCII `k%015d` of `order[i]`, a random permutation of `0..<count`; values are 100 random
/// bytes. Everything derives from fixed seeds, so runs (and the SQLite harness) see the same data.
struct Dataset {
    static let keySize = 16
    static let valueSize = 100
    /// Bytes of one put before any framing: the `116 × N` of `disk_bytes`.
    static let rawPairSize = keySize + valueSize

    static let orderSeed: UInt64 = 0x4C6F_6762_6F6F_6B01
    static let valueSeed: UInt64 = 0x4C6F_6762_6F6F_6B02
    static let readSeed: UInt64 = 0x4C6F_6762_6F6F_6B03
    static let missSeed: UInt64 = 0x4C6F_6762_6F6F_6B04
    /// The values of compact's overwrites.
    static let overwriteSeed: UInt64 = 0x4C6F_6762_6F6F_6B05

    let count: Int
    /// The number behind the key of put `i`.
    let order: [Int32]

    init(count: Int) {
        self.count = count
        var order = (0..<Int32(count)).map { $0 }
        var random = SplitMix64(seed: Self.orderSeed)
        var i = count - 1
        while i > 0 {
            order.swapAt(i, random.next(below: i + 1))
            i -= 1
        }
        self.order = order
    }

    /// `k%015d` of `number`.
    static func key(_ number: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: UInt8(ascii: "0"), count: keySize)
        bytes[0] = UInt8(ascii: "k")
        var n = number
        var i = keySize - 1
        while n > 0 && i > 0 {
            bytes[i] = UInt8(ascii: "0") + UInt8(n % 10)
            n /= 10
            i -= 1
        }
        return bytes
    }

    /// A key that no workload writes but that sorts among the written ones: the key of `number`
    /// with its last digit replaced by ':' (the byte after '9').
    static func missKey(_ number: Int) -> [UInt8] {
        var bytes = key(number)
        bytes[keySize - 1] = UInt8(ascii: ":")
        return bytes
    }

    /// The key of put `i`.
    func key(at i: Int) -> [UInt8] { Self.key(Int(order[i])) }

    /// Every key, in put order.
    func keys() -> [[UInt8]] { (0..<count).map { key(at: $0) } }

    /// Every value, in put order.
    func values() -> [[UInt8]] {
        var stream = ValueStream()
        return (0..<count).map { _ in stream.next() }
    }

    /// `count` keys of random existing entries (uniform, with repetition): read_hot's queries.
    func hotKeys(_ count: Int) -> [[UInt8]] {
        var random = SplitMix64(seed: Self.readSeed)
        return (0..<count).map { _ in Self.key(Int(order[random.next(below: self.count)])) }
    }

    /// `count` absent keys that fall between existing ones: read_miss's queries.
    func missKeys(_ count: Int) -> [[UInt8]] {
        var random = SplitMix64(seed: Self.missSeed)
        return (0..<count).map { _ in Self.missKey(random.next(below: self.count)) }
    }
}

/// The values of a workload, one after the other: 100 bytes from 13 draws of SplitMix64
/// (little-endian, the last 4 bytes of the 13th dropped).
struct ValueStream {
    private var random: SplitMix64

    init(seed: UInt64 = Dataset.valueSeed) { random = SplitMix64(seed: seed) }

    mutating func next() -> [UInt8] {
        var value = [UInt8](repeating: 0, count: Dataset.valueSize)
        var i = 0
        while i < Dataset.valueSize {
            var word = random.next()
            var j = 0
            while j < 8 && i < Dataset.valueSize {
                value[i] = UInt8(truncatingIfNeeded: word)
                word >>= 8
                i += 1
                j += 1
            }
        }
        return value
    }
}
