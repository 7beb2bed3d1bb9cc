// TerminalGuard: gives the terminal back in a usable state on every exit path.
// Normal exit: NcursesBackend.stop() (endwin) and an atexit hook. Fatal signals
// (TERM, HUP, INT, QUIT, SEGV, BUS, ABRT): `emergencyRestore()`, which is async-signal-safe: it
// only calls write(2) with a byte string prepared in `install()` and tcsetattr(3) with the
// termios saved before ncurses changed anything, then the signal is re-raised with its
// default action so the exit status stays truthful. Job control (SIGTSTP) stops the process
// through `stopProcess()` once the backend has given the terminal back.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum TerminalGuard {
    /// Mouse off, bracketed paste off, keypad mode off, cursor shown, attributes reset,
    /// alternate screen left.
    public static let restoreSequence = "\u{1B}[?1006l\u{1B}[?1002l\u{1B}[?1000l\u{1B}[?2004l\u{1B}[?1l\u{1B}>\u{1B}[?25h\u{1B}[0m\u{1B}[?1049l"

    /// The terminal modes before we changed them. Heap memory with room to spare, allocated once:
    /// AddressSanitizer's tcgetattr writes more than Swift's imported `termios` holds, so a
    /// Swift global of that type was overrun; a stable pointer is also what a signal handler wants.
    nonisolated(unsafe) private static let savedTermios: UnsafeMutablePointer<termios> = {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(256, MemoryLayout<termios>.size),
                                                   alignment: MemoryLayout<termios>.alignment)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: max(256, MemoryLayout<termios>.size))
        return raw.bindMemory(to: termios.self, capacity: 1)
    }()
    nonisolated(unsafe) private static var hasSavedTermios = false
    nonisolated(unsafe) private static var restoreBytes: UnsafeMutablePointer<UInt8>?
    nonisolated(unsafe) private static var restoreCount = 0
    /// True between `install()` and a completed restore.
    nonisolated(unsafe) private static var armed = false
    nonisolated(unsafe) private static var installed = false

    public static let fatalSignals: [Int32] = [SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGSEGV, SIGBUS, SIGABRT]

    /// Call before the terminal is changed (before initscr): saves the termios, prepares the
    /// restore bytes and installs the signal handlers and an atexit hook.
    public static func install() {
        if tcgetattr(STDIN_FILENO, savedTermios) == 0 { hasSavedTermios = true }
        if restoreBytes == nil {
            let bytes = Array(restoreSequence.utf8)
            let pointer = UnsafeMutablePointer<UInt8>.allocate(capacity: bytes.count)
            pointer.initialize(from: bytes, count: bytes.count)
            restoreBytes = pointer
            restoreCount = bytes.count
        }
        armed = true
        guard !installed else { return }
        installed = true
        for sig in fatalSignals {
            signal(sig, { sig in
                TerminalGuard.emergencyRestore()
                signal(sig, SIG_DFL)
                raise(sig)
            })
        }
        atexit { TerminalGuard.emergencyRestore() }
    }

    /// Async-signal-safe restore: write(2) of the prepared bytes, tcsetattr with saved modes.
    /// Does nothing once the terminal was restored.
    public static func emergencyRestore() {
        guard armed else { return }
        armed = false
        if let bytes = restoreBytes {
            var offset = 0
            while offset < restoreCount {
                let n = write(STDOUT_FILENO, bytes + offset, restoreCount - offset)
                if n <= 0 { break }
                offset += n
            }
        }
        if hasSavedTermios { _ = tcsetattr(STDIN_FILENO, TCSAFLUSH, savedTermios) }
    }

    /// Job control: stops the process the way SIGTSTP's default action would, and returns once
    /// it is continued. The caller has given the terminal back first (NcursesBackend.suspend).
    /// `wholeJob` (the Ctrl-Z key) does what the tty driver does for Ctrl-Z in cooked mode: the
    /// signal goes to the terminal's foreground process group when that is ours, so a wrapper
    /// script in the same job stops too and the shell sees the job stopped. SIGTSTP's handler is
    /// put back afterwards. The kernel discards the stop when no shell could continue us (an
    /// orphaned process group); then this returns at once.
    public static func stopProcess(wholeJob: Bool) {
        let previous = signal(SIGTSTP, SIG_DFL)
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTSTP)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        let foreground = tcgetpgrp(STDIN_FILENO)
        if wholeJob && foreground > 0 && foreground == getpgrp() {
            kill(-foreground, SIGTSTP)
        } else {
            kill(getpid(), SIGTSTP)
        }
        signal(SIGTSTP, previous)
    }

    /// Marks the terminal as restored by the normal path (endwin already ran).
    public static func disarm() {
        if hasSavedTermios { _ = tcsetattr(STDIN_FILENO, TCSAFLUSH, savedTermios) }
        armed = false
    }
}
