/// A least-recently-used cache bounded in bytes, with O(1) get, put and eviction, an optional
/// time to live, and hit/miss/eviction counters. Not thread-safe by itself: keep it inside a
/// `Locked`.
/// It is a cache: dropping any entry never changes a result.
struct LRUCache<Key: Hashable, Value> {
    private struct Node {
        var key: Key
        var value: Value
        var hash: Int
        var cost: Int
        var inserted: UInt64
        var previous: Int  // towards most recent; -1 at the head
        var next: Int  // towards least recent; -1 at the tail
    }

    let capacity: Int
    /// Entries older than this (ns) are dropped when looked up; nil: no expiry.
    let timeToLive: UInt64?
    private var nodes: [Node] = []
    private var free: [Int] = []
    /// Open addressing with linear probing over node numbers (-1: empty), at most half full.
    /// Each node keeps its key's hash, so growing and deleting (backward shift) never hash a
    /// key again: a key is hashed once per `get` or `put`.
    private var table: [Int32] = []
    private(set) var count = 0
    private var head = -1  // most recently used
    private var tail = -1  // least recently used
    private(set) var bytes = 0
    private(set) var hits: UInt64 = 0
    private(set) var misses: UInt64 = 0
    private(set) var evictions: UInt64 = 0

    init(capacity: Int, timeToLive: UInt64? = nil) {
        self.capacity = capacity
        self.timeToLive = timeToLive
    }

    /// The table position holding `key`, or the empty position where it would go.
    @inline(__always)
    private func position(of key: Key, hash: Int) -> (position: Int, slot: Int?) {
        let mask = table.count - 1
        var i = hash & mask
        while true {
            let slot = Int(table[i])
            if slot < 0 { return (i, nil) }
            if nodes[slot].hash == hash && nodes[slot].key == key { return (i, slot) }
            i = (i &+ 1) & mask
        }
    }

    mutating func get(_ key: Key) -> Value? {
        guard count > 0, let slot = position(of: key, hash: key.hashValue).slot else {
            misses += 1
            return nil
        }
        if let timeToLive, System.monotonicNanoseconds() &- nodes[slot].inserted > timeToLive {
            remove(slot)
            evictions += 1
            misses += 1
            return nil
        }
        hits += 1
        moveToHead(slot)
        return nodes[slot].value
    }

    /// Inserts or replaces; an entry larger than the whole capacity is not kept.
    mutating func put(_ key: Key, _ value: Value, cost: Int) {
        let hash = key.hashValue
        if count > 0, let slot = position(of: key, hash: hash).slot { remove(slot) }
        guard cost <= capacity else { return }
        while bytes + cost > capacity, tail >= 0 {
            remove(tail)
            evictions += 1
        }
        if (count + 1) * 2 > table.count { grow() }
        let node = Node(
            key: key, value: value, hash: hash, cost: cost,
            inserted: timeToLive == nil ? 0 : System.monotonicNanoseconds(), previous: -1, next: head)
        let slot: Int
        if let reused = free.popLast() {
            nodes[reused] = node
            slot = reused
        } else {
            nodes.append(node)
            slot = nodes.count - 1
        }
        if head >= 0 { nodes[head].previous = slot }
        head = slot
        if tail < 0 { tail = slot }
        table[position(of: key, hash: hash).position] = Int32(slot)
        count += 1
        bytes += cost
    }

    /// Doubles the table (at least 16) and places every live node again by its stored hash.
    private mutating func grow() {
        let size = max(16, table.count * 2)
        table = [Int32](repeating: -1, count: size)
        let mask = size - 1
        var slot = head
        while slot >= 0 {
            var i = nodes[slot].hash & mask
            while table[i] >= 0 { i = (i &+ 1) & mask }
            table[i] = Int32(slot)
            slot = nodes[slot].next
        }
    }

    /// Empties table position `i`, moving later members of its probe run back so that every
    /// key stays reachable from its home position.
    private mutating func deleteFromTable(at position: Int) {
        let mask = table.count - 1
        var hole = position
        var i = position
        while true {
            i = (i &+ 1) & mask
            let slot = Int(table[i])
            if slot < 0 { break }
            let home = nodes[slot].hash & mask
            // Move the member into the hole unless its home lies cyclically in (hole, i].
            let stays = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i)
            if !stays {
                table[hole] = table[i]
                hole = i
            }
        }
        table[hole] = -1
    }

    private mutating func unlink(_ slot: Int) {
        let (previous, next) = (nodes[slot].previous, nodes[slot].next)
        if previous >= 0 { nodes[previous].next = next } else { head = next }
        if next >= 0 { nodes[next].previous = previous } else { tail = previous }
    }

    private mutating func moveToHead(_ slot: Int) {
        guard head != slot else { return }
        unlink(slot)
        nodes[slot].previous = -1
        nodes[slot].next = head
        if head >= 0 { nodes[head].previous = slot }
        head = slot
        if tail < 0 { tail = slot }
    }

    private mutating func remove(_ slot: Int) {
        unlink(slot)
        let mask = table.count - 1
        var i = nodes[slot].hash & mask
        while Int(table[i]) != slot { i = (i &+ 1) & mask }
        deleteFromTable(at: i)
        count -= 1
        bytes -= nodes[slot].cost
        free.append(slot)
    }

    /// Keys from most to least recently used; for tests.
    func _keysByRecency() -> [Key] {
        var keys: [Key] = []
        var slot = head
        while slot >= 0 {
            keys.append(nodes[slot].key)
            slot = nodes[slot].next
        }
        return keys
    }

    /// Whether the table and the recency list agree (every listed key found at its slot, counts
    /// equal); for tests.
    func _checkInvariants() -> Bool {
        var listed = 0
        var slot = head
        while slot >= 0 {
            guard position(of: nodes[slot].key, hash: nodes[slot].hash).slot == slot else { return false }
            listed += 1
            slot = nodes[slot].next
        }
        return listed == count && table.lazy.filter { $0 >= 0 }.count == count
    }
}
