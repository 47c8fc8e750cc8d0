import FuzzSupport
// fuzz-lock-holder: HolderInfo.decode, the writer lock holder recorded on LOCK's shared page.
@_spi(Testing) import Logbook

#if FUZZING
    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
        LockHolderTarget.run(UnsafeRawBufferPointer(start: data, count: size))
        return 0
    }

    @main enum Main { static func main() { Fuzz.runLibFuzzer(fuzzTestOneInput) } }
#else
    @main enum Main { static func main() { Fuzz.replay("fuzz-lock-holder", LockHolderTarget.run) } }
#endif

/// Input: the page's bytes from offset 40: pid word, since word, skipped 8 bytes (the
/// acquisition count), the 64-byte program name (zeros past the end of the input).
///
/// Properties: decoding never traps, whatever the page holds after a crash; there is a holder
/// iff the pid word's low 32 bits are a positive pid; the program name stops at the first NUL,
/// is never empty, is exactly the recorded bytes when they are valid UTF-8, and the summary
/// and held time can be computed.
enum LockHolderTarget {
    static func run(_ data: UnsafeRawBufferPointer) {
        var input = FuzzInput(data)
        let pidWord = input.integer(UInt64.self)
        let since = input.integer(UInt64.self)
        _ = input.integer(UInt64.self)
        var name = input.take(64)
        name += [UInt8](repeating: 0, count: 64 - name.count)

        var asked: [Int32] = []
        let holder = name.withUnsafeBytes { raw in
            HolderInfo.decode(pidWord: pidWord, since: since, name: raw) { pid in
                asked.append(pid)
                return pid % 2 == 0
            }
        }
        let pid = Int32(truncatingIfNeeded: pidWord)
        guard let holder else {
            Fuzz.require(pid <= 0, "no holder decoded for pid \(pid)")
            Fuzz.require(asked.isEmpty, "asked whether pid \(asked) is alive with no holder")
            return
        }
        Fuzz.require(pid > 0 && holder.pid == pid, "holder pid \(holder.pid) from word \(pidWord)")
        Fuzz.require(asked == [pid] && holder.isAlive == (pid % 2 == 0), "liveness asked for \(asked)")
        Fuzz.require(holder.sinceNanoseconds == since, "since \(holder.sinceNanoseconds), recorded \(since)")
        let recorded = Array(name.prefix { $0 != 0 })
        let program = Array(holder.program.utf8)
        Fuzz.require(!program.isEmpty && !program.contains(0), "program name \(program)")
        if recorded.isEmpty {
            Fuzz.require(holder.program == "?", "an empty name reads as \(holder.program)")
        } else {
            let valid = String(validating: recorded, as: UTF8.self) != nil
            Fuzz.require(valid == (program == recorded), "valid UTF-8 \(valid), decoded \(program) from \(recorded)")
        }
        Fuzz.require(holder.heldSeconds >= 0 && !holder.summary.isEmpty, "held \(holder.heldSeconds) s")
        // Compared as bytes: String.hasPrefix compares characters, and a name that starts with a
        // combining mark joins the "(" before it into one character.
        Fuzz.require(holder.summary.utf8.starts(with: "pid \(pid) (".utf8), "summary \(holder.summary)")
    }
}
