import Logbook
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The cross-process writer lock, with a real second process holding it.
@Suite("Lock: cross-process writer lock", .serialized)
struct LockTests {
    @Test("a writer waits while another process holds the lock and proceeds once it is released")
    func waitsForHolder() throws {
        let directory = try TemporaryDirectory()
        let holder = try ChildProcess(["hold-lock", directory.store, "1"])
        try holder.expectLine("held")
        let store = try Store(path: directory.store, options: StoreOptions(lockTimeout: 5))
        try store.put("k", "v")
        // The put returned after it got the lock, so after the holder said it was releasing it:
        // that line is in the pipe now.
        holder.readAvailable()
        #expect(
            holder.lines.contains("releasing"),
            "put returned while \(holder) still held the lock: \(holder.lines)")
        #expect(try store.string("k") == "v")
        let termination = holder.wait()
        #expect(termination == .exited(0), "\(holder) \(termination): \(holder.stderrText)")
        #expect(holder.lines == ["held", "releasing", "released"])
    }

    @Test("a holder killed with SIGKILL never blocks the others")
    func killedHolderDoesNotBlock() throws {
        let directory = try TemporaryDirectory()
        let holder = try ChildProcess(["hold-lock", directory.store, "1000"])
        try holder.expectLine("held")
        let store = try Store(path: directory.store, options: StoreOptions(lockTimeout: 2))
        #expect(try store.writerLockHolder()?.pid == holder.pid)
        holder.kill(SIGKILL)
        #expect(holder.wait() == .signaled(SIGKILL))
        // The kernel released the dead holder's lock; its pid may still be on the shared page.
        #expect(try store.writerLockHolder() == nil)
        try store.put("k", "v")
        #expect(try store.string("k") == "v")
        let again = try Store(path: directory.store)
        #expect(try again.string("k") == "v")
    }

    @Test("the time-out error names the holder's pid and program")
    func timeoutNamesHolder() throws {
        let directory = try TemporaryDirectory()
        let holder = try ChildProcess(["hold-lock", directory.store, "1000"])
        try holder.expectLine("held")
        let store = try Store(path: directory.store, options: StoreOptions(lockTimeout: 0.3))

        let info = try #require(try store.writerLockHolder())
        #expect(info.pid == holder.pid)
        #expect(info.program == "logbook-test-helper")
        #expect(info.isAlive)

        let error = try #require(throws: LogbookError.self) { try store.put("k", "v") }
        #expect(error.code == .lockTimeout)
        #expect(error.exitCode == 4)
        #expect(error.message.contains("pid \(holder.pid) (logbook-test-helper)"), "\(error.message)")
        // Nothing was written while the lock was out of reach.
        #expect(try store.get("k") == nil)

        holder.kill(SIGKILL)
        #expect(holder.wait() == .signaled(SIGKILL))
        try store.put("k", "v")
        #expect(try store.string("k") == "v")
    }
}
