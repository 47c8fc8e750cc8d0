/// Every key the board writes, all under `ag/` so a store can hold other data beside it.
/// Ids are fixed-width (26 bytes), so an id always ends a key and needs no separator; free
/// text (labels, agent names) is followed by a NUL byte, which names may not contain. `<p>` is
/// the priority digit, so every task index lists tasks by priority, then by creation time.
///
///     ag/t/<id>                      task record          ag/d/<id>   decision record
///     ag/h/<id>                      hand-off record
///     ag/log/<id>/<revision:16 hex>  history entry of any record (kept after a task is deleted)
///     ag/e/<from>/<kind>/<to>        typed edge           ag/E/<to>/<kind>/<from>  the same, reversed
///     ag/i/ts/<status>/<p><id>       tasks by status (and so by priority: a merge of the five)
///     ag/i/tl/<label>\0<p><id>       tasks by label       ag/i/ta/<agent>\0<p><id> tasks by assignee
///     ag/i/tr/<p><id>                ready tasks          ag/i/tw/<p><id>          blocked or waiting tasks
///     ag/i/tx/<expiry:16 hex ms>/<id> claim leases, by expiry
///     ag/i/hs/<status>/<id>          hand-offs by status
///     ag/i/ht/<agent>\0<id>          hand-offs by receiver ag/i/hf/<agent>\0<id>   hand-offs by sender
///
/// Index values are empty. A listing scans one index range with a limit and reads only the
/// records it returns.
@_spi(Testing) public enum KeyLayout {
    static let root: [UInt8] = Array("ag/".utf8)
    static let indexRoot: [UInt8] = Array("ag/i/".utf8)
    static let edgeRoot: [UInt8] = Array("ag/e/".utf8)
    static let reverseEdgeRoot: [UInt8] = Array("ag/E/".utf8)
    static let historyRoot: [UInt8] = Array("ag/log/".utf8)

    static func recordPrefix(_ kind: RecordKind) -> [UInt8] {
        switch kind {
        case .task: return Array("ag/t/".utf8)
        case .decision: return Array("ag/d/".utf8)
        case .handoff: return Array("ag/h/".utf8)
        }
    }

    static let taskPrefix = recordPrefix(.task)
    static let decisionPrefix = recordPrefix(.decision)
    static let handoffPrefix = recordPrefix(.handoff)

    static func record(_ kind: RecordKind, _ id: String) -> [UInt8] {
        join(recordPrefix(kind), id)
    }

    static func task(_ id: String) -> [UInt8] {
        build(taskPrefix.count + id.utf8.count) { key in
            key.append(taskPrefix)
            key.utf8(id)
        }
    }

    // MARK: history

    static func historyPrefix(_ id: String) -> [UInt8] { join(historyRoot, id, "/") }

    static func history(_ id: String, revision: Int) -> [UInt8] {
        build(historyRoot.count + id.utf8.count + 17) { key in
            key.append(historyRoot)
            key.utf8(id)
            key.byte(UInt8(ascii: "/"))
            key.hex16(UInt64(truncatingIfNeeded: revision))
        }
    }

    // MARK: edges

    static func edge(_ edge: Edge) -> [UInt8] {
        join(edgeRoot, edge.from, "/", edge.kind.rawValue, "/", edge.to)
    }

    static func reverseEdge(_ edge: Edge) -> [UInt8] {
        join(reverseEdgeRoot, edge.to, "/", edge.kind.rawValue, "/", edge.from)
    }

    /// Edges of `kind` that end at `id` (`ag/E/<id>/<kind>/`): the ids after it are their sources.
    static func edgesTo(_ id: String, _ kind: EdgeKind) -> [UInt8] {
        join(reverseEdgeRoot, id, "/", kind.rawValue, "/")
    }

    // MARK: task indexes

    static let statusRoot: [UInt8] = Array("ag/i/ts/".utf8)
    static let labelRoot: [UInt8] = Array("ag/i/tl/".utf8)
    static let assigneeRoot: [UInt8] = Array("ag/i/ta/".utf8)
    static let readyRoot: [UInt8] = Array("ag/i/tr/".utf8)
    static let waitingRoot: [UInt8] = Array("ag/i/tw/".utf8)
    static let leaseRoot: [UInt8] = Array("ag/i/tx/".utf8)

    static func statusPrefix(_ status: TaskStatus) -> [UInt8] {
        switch status {
        case .open: return statusPrefixes[0]
        case .inProgress: return statusPrefixes[1]
        case .blocked: return statusPrefixes[2]
        case .done: return statusPrefixes[3]
        case .cancelled: return statusPrefixes[4]
        }
    }

    private static let statusPrefixes: [[UInt8]] = [TaskStatus.open, .inProgress, .blocked, .done, .cancelled].map {
        join(statusRoot, $0.rawValue, "/")
    }
    static func labelPrefix(_ label: String) -> [UInt8] { join(labelRoot, label, "\0") }
    static func assigneePrefix(_ agent: String) -> [UInt8] { join(assigneeRoot, agent, "\0") }

    /// `prefix` + priority digit + id.
    static func ranked(_ prefix: [UInt8], _ priority: Int, _ id: String) -> [UInt8] {
        build(prefix.count + 1 + id.utf8.count) { key in
            key.append(prefix)
            key.byte(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: priority))
            key.utf8(id)
        }
    }

    /// `root` + `name` + NUL + priority digit + id: an entry of the label or assignee index.
    static func ranked(_ root: [UInt8], name: String, _ priority: Int, _ id: String) -> [UInt8] {
        build(root.count + name.utf8.count + 2 + id.utf8.count) { key in
            key.append(root)
            key.utf8(name)
            key.byte(0)
            key.byte(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: priority))
            key.utf8(id)
        }
    }

    /// `prefix` + priority digit: the part of a ranked index holding one priority.
    static func ranked(_ prefix: [UInt8], priority: Int) -> [UInt8] {
        prefix + [UInt8(ascii: "0") + UInt8(truncatingIfNeeded: priority)]
    }

    /// The key just past every lease that expires before `time`.
    static func leasesBefore(_ time: Timestamp) -> [UInt8] {
        build(leaseRoot.count + 16) { key in
            key.append(leaseRoot)
            key.hex16(UInt64(max(0, time.milliseconds)))
        }
    }

    static func lease(_ expiry: Timestamp, _ id: String) -> [UInt8] {
        build(leaseRoot.count + 17 + id.utf8.count) { key in
            key.append(leaseRoot)
            key.hex16(UInt64(max(0, expiry.milliseconds)))
            key.byte(UInt8(ascii: "/"))
            key.utf8(id)
        }
    }

    // MARK: hand-off indexes

    static let handoffStatusRoot: [UInt8] = Array("ag/i/hs/".utf8)
    static let handoffToRoot: [UInt8] = Array("ag/i/ht/".utf8)
    static let handoffFromRoot: [UInt8] = Array("ag/i/hf/".utf8)

    static func handoffStatusPrefix(_ status: HandoffStatus) -> [UInt8] {
        join(handoffStatusRoot, status.rawValue, "/")
    }
    static func handoffToPrefix(_ agent: String) -> [UInt8] { join(handoffToRoot, agent, "\0") }
    static func handoffFromPrefix(_ agent: String) -> [UInt8] { join(handoffFromRoot, agent, "\0") }

    // MARK: helpers

    /// The id that ends an index or edge key.
    @_spi(Testing) public static func trailingID(_ key: [UInt8]) -> String? {
        key.withUnsafeBytes { trailingID($0) }
    }

    /// `trailingID` of a key lent in place.
    static func trailingID(_ key: UnsafeRawBufferPointer) -> String? {
        guard key.count >= RecordID.length else { return nil }
        return UnsafeRawBufferPointer(rebasing: key[(key.count - RecordID.length)...]).withMemoryRebound(
            to: UInt8.self
        ) { String(decoding: $0, as: UTF8.self) }
    }

    static func join(
        _ prefix: [UInt8], _ a: String, _ b: String = "", _ c: String = "", _ d: String = "", _ e: String = ""
    )
        -> [UInt8]
    {
        build(prefix.count + a.utf8.count + b.utf8.count + c.utf8.count + d.utf8.count + e.utf8.count) { key in
            key.append(prefix)
            key.utf8(a)
            key.utf8(b)
            key.utf8(c)
            key.utf8(d)
            key.utf8(e)
        }
    }

    /// A key of exactly `count` bytes, all written by `body`.
    @inline(__always)
    static func build(_ count: Int, _ body: (inout FieldBuffer) -> Void) -> [UInt8] {
        RecordWriter.bytes(count: count, body)
    }
}
