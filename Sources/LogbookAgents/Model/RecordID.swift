import Synchronization

/// The kinds of record the board keeps, and the letter their ids start with.
public enum RecordKind: String, Sendable, CaseIterable {
    case task = "T"
    case decision = "D"
    case handoff = "H"

    /// The id's first byte.
    var letter: UInt8 { rawValue.utf8.first! }

    /// `task`, `decision`, `hand-off`: for messages.
    public var noun: String {
        switch self {
        case .task: return "task"
        case .decision: return "decision"
        case .handoff: return "hand-off"
        }
    }
}

/// Record ids in the source system's style: the kind's letter, the UTC creation time to the
/// second, and 32 random bits, e.g. `T-20251226-112725-6e0cec19`. They sort by creation time
/// (to the second). Uniqueness across processes comes from the random part plus a check in the
/// creating transaction that the id was never used (see `AgentBoard`).
public enum RecordID {
    /// Length of every id: `T-YYYYMMDD-HHMMSS-xxxxxxxx`.
    public static let length = 26

    /// A new id of `kind` for a record created at `time`, with random bits from `random`:
    /// written straight into the string's storage (no calendar library, no formatting).
    static func make(_ kind: RecordKind, at time: Timestamp, random: UInt32) -> String {
        let c = time.civil
        return String(unsafeUninitializedCapacity: length) { out in
            @inline(__always) func digits(_ value: Int, _ width: Int, at offset: Int) {
                var v = value
                var i = offset + width - 1
                while i >= offset {
                    out[i] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: v % 10)
                    v /= 10
                    i -= 1
                }
            }
            out[0] = kind.letter
            out[1] = UInt8(ascii: "-")
            digits(max(0, c.year) % 10000, 4, at: 2)
            digits(c.month, 2, at: 6)
            digits(c.day, 2, at: 8)
            out[10] = UInt8(ascii: "-")
            digits(c.hour, 2, at: 11)
            digits(c.minute, 2, at: 13)
            digits(c.second, 2, at: 15)
            out[17] = UInt8(ascii: "-")
            var shift: UInt32 = 28
            for i in 0..<8 {
                let digit = UInt8(truncatingIfNeeded: (random >> shift) & 0xF)
                out[18 + i] = digit < 10 ? 0x30 + digit : 0x57 + digit
                shift &-= 4
            }
            return length
        }
    }

    /// Whether `text` is an id of `kind`, in exactly the generated shape (lowercase hex).
    public static func isValid(_ text: String, kind: RecordKind) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == length, bytes[0] == kind.letter,
            bytes[1] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "-"), bytes[17] == UInt8(ascii: "-")
        else { return false }
        for i in 2..<10 where !isDigit(bytes[i]) { return false }
        for i in 11..<17 where !isDigit(bytes[i]) { return false }
        for i in 18..<26
        where !(isDigit(bytes[i]) || (bytes[i] >= UInt8(ascii: "a") && bytes[i] <= UInt8(ascii: "f"))) {
            return false
        }
        return true
    }

    /// `text` if it is an id of `kind`; else an `invalidArgument` error naming the expected shape.
    public static func validated(_ text: String, kind: RecordKind) throws(AgentError) -> String {
        guard isValid(text, kind: kind) else {
            throw AgentError.invalid(
                "\"\(text)\" is not a \(kind.noun) id (expected \(kind.rawValue)-YYYYMMDD-HHMMSS-xxxxxxxx)")
        }
        return text
    }

    private static func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
}

/// 32-bit random numbers for ids: SplitMix64 over an atomic counter seeded from the system's
/// generator once per process, so concurrent threads never share a value and no id costs a
/// system call.
final class IDRandom: Sendable {
    private let counter: Atomic<UInt64>

    init() { counter = Atomic(UInt64.random(in: .min ... .max)) }

    func next() -> UInt32 {
        let x = counter.wrappingAdd(0x9E37_79B9_7F4A_7C15, ordering: .relaxed).newValue
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return UInt32(truncatingIfNeeded: z >> 32)
    }
}
