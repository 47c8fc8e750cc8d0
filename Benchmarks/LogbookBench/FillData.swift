/// The N-key workloads' inputs, built once before anything is timed so that timed loops hold
/// nothing but calls to the store (the arrays are what a caller passes to `put` and `get`).
struct FillData {
    let dataset: Dataset
    /// Keys in put order.
    let keys: [[UInt8]]
    /// Values in put order.
    let values: [[UInt8]]
    /// read_hot's queries: random existing keys.
    let hotKeys: [[UInt8]]
    /// read_miss's queries: absent keys among the existing ones.
    let missKeys: [[UInt8]]

    init(count: Int) {
        dataset = Dataset(count: count)
        keys = dataset.keys()
        values = dataset.values()
        hotKeys = dataset.hotKeys(count)
        missKeys = dataset.missKeys(count)
    }
}
