// Ring: a growable ring buffer addressed by absolute index. Elements are appended at the end and
// removed from either end; an index keeps naming the same element while older ones are removed,
// so a scrollback can use line numbers directly. Storage is a power of two that doubles when
// full and shrinks when mostly empty; removed slots of elements that hold references are
// overwritten with `filler`.

struct Ring<Element> {
    private var storage: ContiguousArray<Element> = []
    private let filler: Element
    /// Absolute index of the first element.
    private(set) var start: Int
    /// Absolute index one past the last element.
    private(set) var end: Int

    init(filler: Element, start: Int = 0) {
        self.filler = filler
        self.start = start
        self.end = start
    }

    var count: Int { end - start }
    var isEmpty: Bool { end == start }
    var capacity: Int { storage.count }

    subscript(index: Int) -> Element {
        get { storage[index & (storage.count &- 1)] }
        set { storage[index & (storage.count &- 1)] = newValue }
    }

    var first: Element? { isEmpty ? nil : self[start] }
    var last: Element? { isEmpty ? nil : self[end &- 1] }

    mutating func append(_ element: Element) {
        if count == storage.count { resize(to: max(4, storage.count * 2)) }
        storage[end & (storage.count &- 1)] = element
        end &+= 1
    }

    @discardableResult
    mutating func removeFirst() -> Element {
        precondition(!isEmpty, "removeFirst on an empty ring")
        let slot = start & (storage.count &- 1)
        let element = storage[slot]
        if !_isPOD(Element.self) { storage[slot] = filler }
        start &+= 1
        return element
    }

    mutating func removeFirst(_ n: Int) {
        precondition(n >= 0 && n <= count, "removeFirst beyond the ring")
        if _isPOD(Element.self) { start &+= n } else { for _ in 0..<n { removeFirst() } }
    }

    @discardableResult
    mutating func removeLast() -> Element {
        precondition(!isEmpty, "removeLast on an empty ring")
        end &-= 1
        let slot = end & (storage.count &- 1)
        let element = storage[slot]
        if !_isPOD(Element.self) { storage[slot] = filler }
        return element
    }

    mutating func removeLast(_ n: Int) {
        precondition(n >= 0 && n <= count, "removeLast beyond the ring")
        if _isPOD(Element.self) { end &-= n } else { for _ in 0..<n { removeLast() } }
    }

    /// Removes every element; the next one appended gets index `end`.
    mutating func removeAll() {
        removeFirst(count)
    }

    /// Gives back storage once a quarter or less of at least 64 slots is used, keeping room for
    /// twice the elements (so shrinking and growing cannot alternate).
    mutating func shrinkIfSparse() {
        guard storage.count >= 64 && count * 4 <= storage.count else { return }
        var kept = 4
        while kept < count * 2 { kept *= 2 }
        resize(to: kept)
    }

    private mutating func resize(to capacity: Int) {
        var grown = ContiguousArray(repeating: filler, count: capacity)
        let oldMask = storage.count &- 1, newMask = capacity &- 1
        var index = start
        while index < end {
            grown[index & newMask] = storage[index & oldMask]
            index &+= 1
        }
        storage = grown
    }
}

extension Ring: Sendable where Element: Sendable {}
