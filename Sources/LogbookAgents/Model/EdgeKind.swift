/// The typed edges between records. Each is stored twice, once under each end, so both
/// directions are one prefix scan; all are derived from records (see Docs/Agents.md).
///
/// | kind | from → to | seen from the target |
/// | --- | --- | --- |
/// | `depends-on` | task → task it waits for | `blocks` |
/// | `affects` | decision → task | `affected-by` |
/// | `hands-off` | hand-off → task | `handed-off-by` |
public enum EdgeKind: String, Sendable, CaseIterable {
    case dependsOn = "depends-on"
    case affects
    case handsOff = "hands-off"

    /// The edge's name seen from its target.
    public var inverse: String {
        switch self {
        case .dependsOn: return "blocks"
        case .affects: return "affected-by"
        case .handsOff: return "handed-off-by"
        }
    }
}

/// One typed edge between two records.
public struct Edge: Sendable, Hashable {
    public var from: String
    public var kind: EdgeKind
    public var to: String

    public init(from: String, kind: EdgeKind, to: String) {
        self.from = from
        self.kind = kind
        self.to = to
    }
}
