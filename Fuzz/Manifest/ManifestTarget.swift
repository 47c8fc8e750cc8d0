import FuzzSupport
// fuzz-manifest: Manifest.decode over arbitrary bytes.
@_spi(Testing) import Logbook

#if FUZZING
    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
        ManifestTarget.run(UnsafeRawBufferPointer(start: data, count: size))
        return 0
    }

    @main enum Main { static func main() { Fuzz.runLibFuzzer(fuzzTestOneInput) } }
#else
    @main enum Main { static func main() { Fuzz.replay("fuzz-manifest", ManifestTarget.run) } }
#endif

/// Input: a control byte (bit 1: fix up the CRC), a byte choosing which byte to damage, then
/// the MANIFEST's bytes.
///
/// Properties: decoding never traps; a MANIFEST that decodes names a sane segment range, every
/// number below 2^63 (room to count on), and re-encodes to exactly its bytes; changing any one of its bytes makes it invalid; a MANIFEST
/// the encoder writes decodes to itself exactly when its segment range is sane.
enum ManifestTarget {
    static func run(_ data: UnsafeRawBufferPointer) {
        var input = FuzzInput(data)
        let control = input.byte()
        let damage = input.byte()
        var bytes = input.rest()
        if control & 1 != 0 { Fixup.manifest(&bytes) }

        if let manifest = Manifest.decode(bytes) {
            Fuzz.require(
                manifest.firstLog >= 1 && manifest.firstLog <= manifest.lastLog
                    && manifest.lastLog - manifest.firstLog < 1024,
                "decoded an insane segment range: \(manifest)")
            Fuzz.require(
                [manifest.generation, manifest.snapshot, manifest.snapshotSequence, manifest.lastLog]
                    .allSatisfy { $0 < 1 << 63 },
                "decoded a number that cannot be counted on: \(manifest)")
            Fuzz.require(manifest.encode() == bytes, "\(manifest) re-encodes differently")
            var damaged = bytes
            damaged[Int(damage) % Manifest.size] ^= UInt8(truncatingIfNeeded: control >> 1) | 1
            Fuzz.require(Manifest.decode(damaged) == nil, "a MANIFEST with byte \(Int(damage) % 64) changed decodes")
            Fuzz.require(
                Manifest.decode(bytes + [0]) == nil && Manifest.decode(Array(bytes.dropLast())) == nil,
                "a MANIFEST of the wrong size decodes")
        }

        // Encode any five words; they decode back iff the range is sane.
        var words = bytes
        words += [UInt8](repeating: 0, count: max(0, 56 - words.count))
        let made = Manifest(
            generation: words.loadLE(UInt64.self, at: 16), snapshot: words.loadLE(UInt64.self, at: 24),
            snapshotSequence: words.loadLE(UInt64.self, at: 32), firstLog: words.loadLE(UInt64.self, at: 40),
            lastLog: words.loadLE(UInt64.self, at: 48))
        let encoded = made.encode()
        Fuzz.require(encoded.count == Manifest.size, "encoded MANIFEST of \(encoded.count) bytes")
        let sane =
            made.firstLog >= 1 && made.firstLog <= made.lastLog && made.lastLog - made.firstLog < 1024
            && [made.generation, made.snapshot, made.snapshotSequence, made.lastLog].allSatisfy { $0 < 1 << 63 }
        let decoded = Manifest.decode(encoded)
        Fuzz.require(sane ? decoded == made : decoded == nil, "\(made) decodes to \(String(describing: decoded))")
    }
}
