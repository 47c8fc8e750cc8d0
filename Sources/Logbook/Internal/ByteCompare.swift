/// Lexicographic order of two byte ranges (unsigned bytes, then length): -1, 0 or 1.
///
/// Pure Swift, eight bytes at a time, and free of calls: the optimizer can then compare bytes
/// borrowed from an array element without retaining the element (an opaque call such as memcmp
/// between the load and the use forces a retain/release pair around it).
@inline(__always)
func compareRaw(_ a: UnsafeRawPointer?, _ aCount: Int, _ b: UnsafeRawPointer?, _ bCount: Int) -> Int32 {
    let n = min(aCount, bCount)
    if n > 0, let a, let b {
        var i = 0
        while i &+ 8 <= n {
            let x = a.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            let y = b.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            if x != y { return UInt64(bigEndian: x) < UInt64(bigEndian: y) ? -1 : 1 }
            i &+= 8
        }
        while i < n {
            let x = a.load(fromByteOffset: i, as: UInt8.self)
            let y = b.load(fromByteOffset: i, as: UInt8.self)
            if x != y { return x < y ? -1 : 1 }
            i &+= 1
        }
    }
    return aCount < bCount ? -1 : (aCount > bCount ? 1 : 0)
}

/// Whether two byte ranges hold the same bytes.
@inline(__always)
func equalBytes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    a.count == b.count && compareRaw(a.baseAddress, a.count, b.baseAddress, b.count) == 0
}
