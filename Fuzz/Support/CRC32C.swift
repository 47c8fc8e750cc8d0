/// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), table-driven: the fuzzers' own copy,
/// independent of the engine's (hardware) one, used to fix up checksums in mutated inputs.
public enum CRC32C {
    @usableFromInline static let table: [UInt32] = (0..<256).map { (n: UInt32) -> UInt32 in
        var c = n
        for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
        return c
    }

    @inlinable public static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}
