// CRC32C (Castagnoli) against the published vectors, through both the hardware path
// (`CRC32C.checksum`, SSE4.2 when the CPU has it) and the portable table.

import CLogbookShims
import Testing

@testable import Logbook

@Suite struct CRC32CTests {
    /// RFC 3720 (iSCSI), appendix B.4, plus the common "123456789" check value.
    static let vectors: [(name: String, bytes: [UInt8], crc: UInt32)] = [
        ("32 zero bytes", [UInt8](repeating: 0, count: 32), 0x8A91_36AA),
        ("32 0xFF bytes", [UInt8](repeating: 0xFF, count: 32), 0x62A8_AB43),
        ("0...31 ascending", (0..<32).map { UInt8($0) }, 0x46DD_794E),
        ("31...0 descending", (0..<32).reversed().map { UInt8($0) }, 0x113F_DB5C),
        ("\"123456789\"", Array("123456789".utf8), 0xE306_9283),
        ("empty", [], 0),
    ]

    static func portable(_ bytes: [UInt8], continuing crc: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { lb_crc32c_portable(crc, $0.baseAddress, $0.count) }
    }

    @Test(arguments: 0..<vectors.count)
    func publishedVectorThroughTheDefaultPath(_ index: Int) {
        let vector = Self.vectors[index]
        #expect(CRC32C.checksum(vector.bytes) == vector.crc, "\(vector.name)")
    }

    @Test(arguments: 0..<vectors.count)
    func publishedVectorThroughThePortablePath(_ index: Int) {
        let vector = Self.vectors[index]
        #expect(Self.portable(vector.bytes) == vector.crc, "\(vector.name)")
    }

    /// The default path uses the instruction exactly when the CPU has it (so on such machines
    /// the "both paths agree" tests really compare hardware against the table).
    @Test func hardwarePathIsUsedExactlyWhenTheCPUHasSSE42() {
        #if arch(x86_64)
            let cpuinfo = String(decoding: Disk.read("/proc/cpuinfo"), as: UTF8.self)
            let hasSSE42 = cpuinfo.split(separator: "\n").contains {
                $0.hasPrefix("flags") && $0.split(separator: " ").contains("sse4_2")
            }
            #expect(lb_crc32c_hardware() == (hasSSE42 ? 1 : 0))
        #else
            #expect(lb_crc32c_hardware() == 0)
        #endif
    }

    @Test func bothPathsAgreeOnRandomBuffersOfEveryLengthUpTo300() {
        var random = SeededRandom(seed: 0xC3C3)
        for length in 0...300 {
            for _ in 0..<4 {
                let bytes = random.bytes(length)
                let seed = UInt32.random(in: 0...UInt32.max, using: &random)
                #expect(CRC32C.checksum(bytes) == Self.portable(bytes), "length \(length)")
                #expect(
                    CRC32C.checksum(bytes, continuing: seed) == Self.portable(bytes, continuing: seed),
                    "length \(length), continuing \(seed)")
            }
        }
    }

    /// Unaligned starts: the word loops must not depend on the buffer's alignment.
    @Test func bothPathsAgreeAtEveryAlignment() {
        var random = SeededRandom(seed: 7)
        let bytes = random.bytes(200)
        for start in 0..<16 {
            for end in stride(from: start, through: bytes.count, by: 13) {
                let slice = Array(bytes[start..<end])
                let viaSlice = CRC32C.checksum(bytes[start..<end])
                #expect(viaSlice == Self.portable(slice))
                #expect(viaSlice == CRC32C.checksum(slice))
            }
        }
    }

    @Test func continuingOverAnySplitEqualsTheWholeChecksum() {
        var random = SeededRandom(seed: 99)
        for length in [0, 1, 7, 8, 9, 31, 32, 33, 64, 100, 257] {
            let bytes = random.bytes(length)
            let whole = CRC32C.checksum(bytes)
            #expect(whole == Self.portable(bytes))
            for split in 0...length {
                let head = Array(bytes[..<split])
                let tail = Array(bytes[split...])
                #expect(
                    CRC32C.checksum(tail, continuing: CRC32C.checksum(head)) == whole, "split \(split) of \(length)")
                #expect(Self.portable(tail, continuing: Self.portable(head)) == whole, "split \(split) of \(length)")
            }
        }
    }

    @Test func vectorFedOneByteAtATime() {
        for vector in Self.vectors {
            var hardware: UInt32 = 0
            var portable: UInt32 = 0
            for byte in vector.bytes {
                hardware = CRC32C.checksum([byte], continuing: hardware)
                portable = Self.portable([byte], continuing: portable)
            }
            #expect(hardware == vector.crc, "\(vector.name)")
            #expect(portable == vector.crc, "\(vector.name)")
        }
    }
}
