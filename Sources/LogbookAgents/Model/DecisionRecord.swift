/// A decision an agent made: what, why, what else was considered, which tasks it affects.
/// Decisions are never changed or deleted once logged (a later decision can supersede one by
/// saying so); `affects` is also kept as `affects` edges so `why TASK` is one prefix scan.
public struct DecisionRecord: Sendable, Equatable {
    public var id: String
    public var text: String
    public var rationale: String
    public var alternatives: [String]
    /// Ids of the tasks it affects. Sorted, no duplicates.
    public var affects: [String]
    public var createdAt: Timestamp
    public var createdBy: String
    public var revision: Int

    public init(
        id: String, text: String, rationale: String = "", alternatives: [String] = [], affects: [String] = [],
        createdAt: Timestamp, createdBy: String, revision: Int = 1
    ) {
        self.id = id
        self.text = text
        self.rationale = rationale
        self.alternatives = alternatives
        self.affects = affects
        self.createdAt = createdAt
        self.createdBy = createdBy
        self.revision = revision
    }
}
