/// A cursor over a fuzzer's input that never fails: past the end it yields zeros and empty arrays,
/// so every input, however short, drives a target somewhere.
public struct FuzzInput {
    public let bytes: [UInt8]
    @usableFromInline var position = 0

    public init(_ data: UnsafeRawBufferPointer) { bytes = Array(data) }
    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var remaining: Int { bytes.count - position }

    @inlinable public mutating func byte() -> UInt8 {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return bytes[position]
    }

    /// A little-endian integer from the next bytes (zero-extended past the end).
    @inlinable public mutating func integer<T: FixedWidthInteger & UnsignedInteger>(_: T.Type) -> T {
        var value: T = 0
        for i in 0..<MemoryLayout<T>.size { value |= T(byte()) << (8 * i) }
        return value
    }

    /// Up to `count` next bytes.
    public mutating func take(_ count: Int) -> [UInt8] {
        let n = max(0, min(count, remaining))
        defer { position += n }
        return Array(bytes[position..<position + n])
    }

    /// Everything not consumed yet.
    public mutating func rest() -> [UInt8] { take(remaining) }
}
