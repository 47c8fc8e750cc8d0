/// A least-recently-used cache bounded in bytes, with O(1) get, put and eviction, an optional
/// time to live, and hit/miss/eviction counters. Not thread-safe by itself: keep it inside a
/// `Locked`.
/// It is a cache: dropping any entry never changes a result.
struct LRUCache<Key: Hashable, Value> {
    private struct Node {
        var key: Key
        var value: Value
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
    private var slots: [Key: Int] = [:]
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

    var count: Int { slots.count }

    mutating func get(_ key: Key) -> Value? {
        guard let slot = slots[key] else {
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
        if let slot = slots[key] { remove(slot) }
        guard cost <= capacity else { return }
        while bytes + cost > capacity, tail >= 0 {
            remove(tail)
            evictions += 1
        }
        let node = Node(
            key: key, value: value, cost: cost, inserted: timeToLive == nil ? 0 : System.monotonicNanoseconds(),
            previous: -1, next: head)
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
        slots[key] = slot
        bytes += cost
    }

    mutating func removeAll() {
        nodes = []
        free = []
        slots = [:]
        head = -1
        tail = -1
        bytes = 0
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
        slots[nodes[slot].key] = nil
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
}
