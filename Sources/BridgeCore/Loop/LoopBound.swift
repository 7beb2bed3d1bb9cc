// LoopBound: carries a loop-owned value through another thread and back to its EventLoop.

/// Only the loop thread touches `value`: other threads merely carry it to `EventLoop.post`.
struct LoopBound<Value>: @unchecked Sendable {
    let value: Value
}
