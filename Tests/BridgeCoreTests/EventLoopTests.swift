// EventLoopTests: the loop with real pipes. Watches added, changed and removed between turns
// and inside handlers (the loop keeps its pollfd array across turns and edits it in place): each
// readable descriptor reaches its own handler, a watch removed by an earlier handler of the same
// turn is not called, one added in a handler is polled from the next turn on. Repeating timers
// of one interval come to fire in the same wake-up.

import Foundation
import Testing
@testable import BridgeCore
#if canImport(Glibc)
import Glibc
#endif

@Suite struct EventLoopTests {
    /// A pipe whose read end the loop watches; `ready()` makes it readable.
    final class Pipe {
        let read: Int32
        let write: Int32

        init() {
            var fds: [Int32] = [0, 0]
            precondition(pipe(&fds) == 0)
            read = fds[0]
            write = fds[1]
            _ = fcntl(read, F_SETFL, fcntl(read, F_GETFL) | O_NONBLOCK)
        }

        func ready() {
            var byte: UInt8 = 1
            _ = Glibc.write(write, &byte, 1)
        }

        func drain() {
            var buffer = [UInt8](repeating: 0, count: 64)
            while Glibc.read(read, &buffer, buffer.count) > 0 {}
        }

        deinit {
            close(read)
            close(write)
        }
    }

    @Test func eachReadableDescriptorReachesItsOwnHandlerAfterWatchesComeAndGo() throws {
        let loop = try EventLoop()
        let pipes = (0..<6).map { _ in Pipe() }
        var calls: [Int] = []
        var ids: [EventLoop.WatchID] = []
        for (k, p) in pipes.enumerated() {
            ids.append(loop.watch(p.read, for: .readable) { _ in
                calls.append(k)
                p.drain()
            })
        }
        // Removing from the front and the middle moves other watches into their slots.
        loop.unwatch(ids[0])
        loop.unwatch(ids[2])
        loop.unwatch(ids[2])
        #expect(loop.watchCount == 4)
        for k in [1, 5] { pipes[k].ready() }
        loop.runOnce(timeout: 1)
        #expect(calls.sorted() == [1, 5])
        calls = []
        pipes[0].ready()
        pipes[3].ready()
        loop.runOnce(timeout: 1)
        #expect(calls == [3], "a removed watch was called, or the wrong one: \(calls)")
        // Added again: polled like the others.
        calls = []
        ids[0] = loop.watch(pipes[0].read, for: .readable) { _ in
            calls.append(0)
            pipes[0].drain()
        }
        pipes[4].ready()
        loop.runOnce(timeout: 1)
        #expect(calls.sorted() == [0, 4])
    }

    @Test func aWatchRemovedByAnEarlierHandlerOfTheTurnIsNotCalledAndOneAddedIsPolledNextTurn() throws {
        let loop = try EventLoop()
        let a = Pipe(), b = Pipe(), c = Pipe(), d = Pipe()
        var calls: [String] = []
        var watchB: EventLoop.WatchID = 0
        var watchA: EventLoop.WatchID = 0
        // Whichever of a and b runs first removes the other and adds a watch on c.
        let added: () -> Void = {
            _ = loop.watch(c.read, for: .readable) { _ in
                calls.append("c")
                c.drain()
            }
        }
        watchA = loop.watch(a.read, for: .readable) { _ in
            calls.append("a")
            a.drain()
            loop.unwatch(watchB)
            added()
        }
        watchB = loop.watch(b.read, for: .readable) { _ in
            calls.append("b")
            b.drain()
            loop.unwatch(watchA)
            added()
        }
        _ = loop.watch(d.read, for: .readable) { _ in
            calls.append("d")
            d.drain()
        }
        a.ready()
        b.ready()
        c.ready()
        d.ready()
        loop.runOnce(timeout: 1)
        #expect(calls == ["a", "d"] || calls == ["b", "d"], "\(calls)")
        #expect(loop.watchCount == 3)
        calls = []
        loop.runOnce(timeout: 1)
        #expect(calls == ["c"], "\(calls)")
        // The removed one stays removed.
        a.ready()
        b.ready()
        calls = []
        loop.runOnce(timeout: 0.2)
        #expect(calls.count == 1 && ["a", "b"].contains(calls[0]), "\(calls)")
    }

    @Test func updateChangesWhatTheNextPollWaitsFor() throws {
        let loop = try EventLoop()
        let p = Pipe()
        var seen: [PollEvents] = []
        // The write end of an empty pipe is writable at once, but only asked for after update.
        let id = loop.watch(p.write, for: []) { events in seen.append(events) }
        loop.runOnce(timeout: 0.1)
        #expect(seen.isEmpty)
        loop.update(id, events: .writable)
        loop.runOnce(timeout: 1)
        #expect(seen.count == 1 && seen[0].contains(.writable))
        loop.update(id, events: [])
        seen = []
        loop.runOnce(timeout: 0.1)
        #expect(seen.isEmpty)
    }

    @Test func repeatingTimersOfOneIntervalComeToFireInTheSameWakeUp() throws {
        let loop = try EventLoop()
        var fired: [String: [Int]] = ["a": [], "b": []]
        _ = loop.schedule(after: 0.03, repeating: 0.2) { fired["a", default: []].append(loop.wakeups) }
        _ = loop.schedule(after: 0.11, repeating: 0.2) { fired["b", default: []].append(loop.wakeups) }
        let deadline = MonotonicClock.now() + 1.3
        while MonotonicClock.now() < deadline { loop.runOnce(timeout: 0.5) }
        // The first round keeps each timer's own delay; from the next beat on they share one.
        let a = fired["a"]!, b = fired["b"]!
        #expect(a.count >= 4 && a.suffix(3) == b.suffix(3), "a fired at wake-ups \(a), b at \(b)")
    }

    @Test func aRepeatingTimersNextBeatIsTheNearestMultipleOfItsIntervalAndNotInThePast() {
        #expect(EventLoop.nextRepeat(after: 10.3, interval: 1, now: 10.31) == 11)
        #expect(EventLoop.nextRepeat(after: 10.6, interval: 1, now: 10.61) == 12)
        #expect(EventLoop.nextRepeat(after: 10.0, interval: 1, now: 10.0) == 11)
        // Late by several rounds: the next beat after now, once.
        #expect(EventLoop.nextRepeat(after: 10.0, interval: 1, now: 13.4) == 14)
        #expect(EventLoop.nextRepeat(after: 2.0, interval: 0.25, now: 2.01) == 2.25)
    }
}
