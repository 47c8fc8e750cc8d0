import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where gets find the published view without taking the state's mutex (see
/// `Store.readableView`): an atomic slot holding one reference to it, and two counts of the
/// gets reading through the slot.
///
/// A get counts itself in, loads the slot, reads the view and counts itself out; it neither
/// locks nor retains. A view taken out of the slot (`publish`, under the state mutex) is
/// released at once when no get is counted in (the usual case: the commit after it then finds
/// the memtable's chunks unshared), else kept until each count has been seen at zero after it
/// left the slot: every get that could have loaded it is over then. Each such retirement
/// switches new gets to the other count, so that the one the earlier gets hold drains.
///
/// Why it is safe: a get's count-in and its load of the slot, and `publish`'s exchange of the
/// slot and its look at the counts, are sequentially consistent; so either the get loads the
/// new content, or `publish` (or a later `reclaim`) sees the get counted in and keeps the view.
final class ReadSlot: @unchecked Sendable {
    /// A view taken out of the slot that a get may still read, and which counts were seen at
    /// zero since.
    private struct Retired {
        let view: Unmanaged<PublishedView>
        var drained: (Bool, Bool) = (false, false)
    }

    /// The published view (a reference the slot owns), as the bits of its address; 0: none.
    private let slot = Atomic<UInt>(0)
    /// Which count a get adds itself to.
    private let phase = Atomic<Int>(0)
    private let readers0 = Atomic<Int>(0)
    private let readers1 = Atomic<Int>(0)
    /// Only under the state mutex (and in `deinit`), so without the dynamic exclusivity check
    /// of a class's property (each commit looks at it).
    @exclusivity(unchecked) private var retired: [Retired] = []

    deinit {
        let raw = slot.load(ordering: .relaxed)
        if raw != 0 { Self.view(raw).release() }
        for item in retired { item.view.release() }
    }

    @inline(__always)
    private static func view(_ raw: UInt) -> Unmanaged<PublishedView> {
        Unmanaged.fromOpaque(UnsafeRawPointer(bitPattern: raw).unsafelyUnwrapped)
    }

    @inline(__always)
    private func readers(_ phase: Int) -> Int {
        phase == 0 ? readers0.load(ordering: .sequentiallyConsistent) : readers1.load(ordering: .sequentiallyConsistent)
    }

    /// `body` run on the view in the slot (a get's look-up), unless the slot is empty or
    /// `current` says the view is stale; then nil. No lock, no reference counting. (Not generic,
    /// and no `Result`: a generic one went through value witnesses and cost what it saved.)
    @inline(__always)
    func read(
        current: (PublishedView) -> Bool, _ body: (PublishedView) throws(LogbookError) -> [UInt8]?
    ) throws(LogbookError) -> [UInt8]?? {
        try countedIn { () throws(LogbookError) -> [UInt8]?? in
            let raw = slot.load(ordering: .sequentiallyConsistent)
            guard raw != 0 else { return nil }
            // The closure of `_withUnsafeGuaranteedRef` carries no typed error: it is carried out by hand.
            var failure: LogbookError? = nil
            let value = Self.view(raw)._withUnsafeGuaranteedRef { view -> [UInt8]?? in
                guard current(view) else { return nil }
                do throws(LogbookError) { return .some(try body(view)) } catch {
                    failure = error
                    return nil
                }
            }
            if let failure { throw failure }
            return value
        }
    }

    /// The view in the slot, retained, unless the slot is empty or `current` says the view is
    /// stale; then nil. For reads that run code of the caller's while they hold the view (no
    /// get stays counted in then, so `close` never waits on the caller).
    @inline(__always)
    func retained(current: (PublishedView) -> Bool) -> PublishedView? {
        countedIn {
            let raw = slot.load(ordering: .sequentiallyConsistent)
            guard raw != 0 else { return nil }
            let view = Self.view(raw).takeUnretainedValue()
            return current(view) ? view : nil
        }
    }

    /// `body` run while the get is counted in (see the type's comment).
    @inline(__always)
    private func countedIn<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        let phase = phase.load(ordering: .relaxed)
        if phase == 0 {
            readers0.wrappingAdd(1, ordering: .sequentiallyConsistent)
        } else {
            readers1.wrappingAdd(1, ordering: .sequentiallyConsistent)
        }
        defer {
            if phase == 0 {
                readers0.wrappingSubtract(1, ordering: .releasing)
            } else {
                readers1.wrappingSubtract(1, ordering: .releasing)
            }
        }
        return try body()
    }

    /// The view in the slot, or nil. Under the state mutex.
    var published: PublishedView? {
        let raw = slot.load(ordering: .relaxed)
        return raw == 0 ? nil : Self.view(raw).takeUnretainedValue()
    }

    /// Puts `view` in the slot (nil empties it) and lets go of the one there, once no get can
    /// be reading it. Under the state mutex.
    func publish(_ view: PublishedView?) {
        // Only this function, under the mutex, writes the slot: what it reads here is current.
        // The usual call: a commit with no get since the one before.
        if view == nil && retired.isEmpty && slot.load(ordering: .relaxed) == 0 { return }
        let new = view.map { UInt(bitPattern: Unmanaged.passRetained($0).toOpaque()) } ?? 0
        let old = slot.exchange(new, ordering: .sequentiallyConsistent)
        if old != 0 {
            retired.append(Retired(view: Self.view(old)))
            // New gets count themselves in the other count; the one earlier gets hold drains.
            phase.store(1 &- phase.load(ordering: .relaxed), ordering: .relaxed)
        }
        reclaim()
    }

    /// Releases the retired views no get can be reading any more. Under the state mutex.
    private func reclaim() {
        guard !retired.isEmpty else { return }
        let (zero0, zero1) = (readers(0) == 0, readers(1) == 0)
        var kept = 0
        for i in retired.indices {
            var item = retired[i]
            item.drained = (item.drained.0 || zero0, item.drained.1 || zero1)
            if item.drained.0 && item.drained.1 {
                item.view.release()
            } else {
                retired[kept] = item
                kept += 1
            }
        }
        retired.removeLast(retired.count - kept)
    }

    /// Empties the slot and waits until no get reads through it (before the handle closes what
    /// the gets read: the shared page). Under the state mutex; a get's read is short and takes
    /// no lock, so the wait is too.
    func close() {
        publish(nil)
        while readers(0) != 0 || readers(1) != 0 { sched_yield() }
        reclaim()
    }
}
