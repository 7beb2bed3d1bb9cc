// NcursesBackend: the only code that calls ncurses. It turns CellBuffers into screen updates
// (only the cells that changed since the previous frame, see CellDiff) and owns the terminal
// modes. Input is NOT read through ncurses: the runtime reads stdin bytes (readInput) and
// decodes them with InputDecoder (see the decision recorded there).
//
// Usage by the runtime (one thread):
//   let backend = NcursesBackend()
//   try backend.start(mouse: settings.mouse, environment: env)   // installs TerminalGuard
//   loop: poll(stdin, timeout from FramePacer / decoder.pendingTimeout)
//         events = backend.readInput(into: &decoder)   or decoder.flushPending() on timeout
//         if let size = backend.pollResize() { reduce(.resize) }
//         backend.present(render(state: state, size: backend.size), fullRepaint: state.needsFullRepaint)
//   on SIGTSTP: backend.suspend() (returns once continued); on SIGCONT: backend.resume(); draw
//   on the suspend key: backend.suspend(wholeJob: true); draw
//   backend.stop()
//
// Job control: the Ctrl-Z key (suspend(wholeJob: true)) and SIGTSTP from outside reach
// suspend(), which gives the terminal back as on exit (tty modes, mouse, bracketed paste,
// keypad, alternate screen, cursor) and stops the process; resume() puts everything back and
// repaints, also after a SIGSTOP it never saw coming.
//
// Locale and capabilities: see TerminalCharset (UTF-8 or the ASCII stand-ins, `notice`) and
// start()'s TERM checks (an unset, unknown or cursor-less TERM is refused with a message).

import CNcursesw
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public struct BackendError: Error, CustomStringConvertible {
    public var description: String
}

public final class NcursesBackend {
    public private(set) var size = Size(rows: 0, cols: 0)
    public private(set) var colorDepth: ColorDepth = .none
    public private(set) var isRunning = false

    private var screen: OpaquePointer?
    private var previous: CellBuffer?
    private var pairs: [PairKey: Int32] = [:]
    private var nextPair: Int32 = 1
    private var maxPairs: Int32 = 0
    private var mouseOn = false
    private var cursorVisible: Int32 = -1
    /// Between suspend()'s endwin and resume().
    private var suspended = false
    /// Draw ASCII stand-ins (TerminalCharset): the terminal is not UTF-8.
    public private(set) var asciiOnly = false
    /// Said once in the status line after start (the ASCII fallback); nil when all is well.
    public private(set) var notice: String?

    /// Bracketed paste on; SGR mouse, mouse and bracketed paste off (exit and suspend).
    private static let pasteOn = Array("\u{1B}[?2004h".utf8)
    private static let modesOff = Array("\u{1B}[?1006l\u{1B}[?1000l\u{1B}[?2004l".utf8)

    struct PairKey: Hashable {
        var fg: Int32
        var bg: Int32
    }

    public init() {}

    /// Sets the locale, starts ncurses on stdout/stdin and switches on bracketed paste (and SGR
    /// mouse when asked).
    public func start(mouse: Bool, environment: [String: String]) throws {
        guard !isRunning else { return }
        guard isatty(STDIN_FILENO) != 0, isatty(STDOUT_FILENO) != 0 else {
            throw BackendError(description: "stdin and stdout must be a terminal")
        }
        let term = environment["TERM"] ?? ""
        guard !term.isEmpty else {
            throw BackendError(description: "TERM is not set, so the terminal's type is unknown: set it to your terminal's type "
                               + "(e.g. TERM=xterm-256color); the commands send, tail and status need no terminal")
        }
        chooseLocale(environment: environment)
        TerminalGuard.install()
        guard let screen = ccb_newterm_stdio() else {
            TerminalGuard.disarm()
            throw BackendError(description: "the terminal type TERM=\(term) is not in the terminfo database: set TERM to your "
                               + "terminal's type (e.g. xterm-256color) or install its entry (Debian: ncurses-term)")
        }
        guard ccb_can_address_cursor() != 0 else {
            endwin()
            delscreen(screen)
            TerminalGuard.disarm()
            throw BackendError(description: "TERM=\(term) cannot move the cursor, which a full-screen UI needs: run it in a "
                               + "terminal emulator with TERM set to its type (e.g. xterm-256color); the commands send, "
                               + "tail and status work anywhere")
        }
        self.screen = screen
        isRunning = true
        raw()
        noecho()
        nonl()
        keypad(ccb_stdscr(), true)
        if has_colors() {
            start_color()
            use_default_colors()
            maxPairs = Int32(max(0, min(Int(ccb_color_pairs()) - 1, 32_767)))
        }
        colorDepth = has_colors() ? ColorDepth.detect(colors: Int(ccb_colors()), environment: environment) : .none
        size = Size(rows: Int(ccb_lines()), cols: Int(ccb_cols()))
        refresh()
        writeRaw(Self.pasteOn)
        setMouse(mouse)
        // The title is ours while we run: the old one is saved and comes back on exit.
        writeRaw(TerminalNotifier.pushTitle)
        setTitle("cc-bridge-tui")
    }

    /// Sets the terminal title (OSC 2); text made printable by TerminalNotifier.
    public func setTitle(_ text: String) { writeRaw(TerminalNotifier.title(text)) }

    /// Takes the environment's locale; where that is not UTF-8 but the terminal is taken to be,
    /// switches LC_CTYPE to an installed UTF-8 locale, else draws ASCII (see TerminalCharset).
    private func chooseLocale(environment: [String: String]) {
        let active = String(cString: ccb_set_locale())
        let verdict = TerminalCharset.judge(activeLocale: active, activeCodeset: String(cString: ccb_codeset()),
                                            environment: environment)
        switch verdict {
        case .ready:
            return
        case .needsUTF8Locale:
            if TerminalCharset.utf8Locales.contains(where: { ccb_use_utf8_ctype($0) != 0 }) { return }
            _ = ccb_use_utf8_ctype(active)   // back to what the environment said
        case .notUTF8:
            break
        }
        asciiOnly = true
        notice = TerminalCharset.asciiNotice(verdict)
    }

    /// Job control (SIGTSTP, the Ctrl-Z key): gives the terminal back to the shell as on exit,
    /// then stops the process (`wholeJob`: its job, see TerminalGuard.stopProcess), and once
    /// continued (SIGCONT) re-establishes everything; the next present diffs against a fully
    /// repainted screen. Returns at once (terminal back) when the process cannot be stopped (an
    /// orphaned process group: no job-control shell to continue it).
    public func suspend(wholeJob: Bool = false) {
        guard isRunning, !suspended else { return }
        // A SIGTSTP sent to the whole job may have stopped the others first and the shell may
        // own the terminal already: restore it anyway rather than stop on SIGTTOU half-way.
        let ttou = signal(SIGTTOU, SIG_IGN)
        writeRaw(Self.modesOff)
        endwin()
        signal(SIGTTOU, ttou)
        suspended = true
        TerminalGuard.stopProcess(wholeJob: wholeJob)
        resume()
    }

    /// After SIGCONT: the process may have been stopped without our knowing (SIGSTOP) and the
    /// shell may have changed the tty modes, left the alternate screen or drawn on it meanwhile.
    /// Puts back raw mode, keypad, alternate screen, cursor, bracketed paste and mouse, and repaints
    /// the whole screen. Harmless when nothing changed.
    public func resume() {
        guard isRunning else { return }
        if !suspended {
            ccb_reenter_program_mode()
            if cursorVisible >= 0 {   // ncurses skips a curs_set to the state it believes in
                curs_set(cursorVisible == 0 ? 1 : 0)
                curs_set(cursorVisible)
            }
        }
        suspended = false   // after endwin, the refresh below re-enters program mode itself
        keypad(ccb_stdscr(), true)   // endwin switched the keypad off for good
        clearok(ccb_stdscr(), true)
        refresh()
        writeRaw(Self.pasteOn)
        setMouse(mouseOn)
    }

    /// Turns the terminal modes off and ends ncurses. Safe to call twice.
    public func stop() {
        guard isRunning else { return }
        writeRaw(TerminalNotifier.popTitle)
        writeRaw(Self.modesOff)
        curs_set(1)
        endwin()
        if let screen { delscreen(screen) }
        screen = nil
        isRunning = false
        TerminalGuard.disarm()
    }

    public func setMouse(_ on: Bool) {
        mouseOn = on
        writeRaw(Array((on ? "\u{1B}[?1000h\u{1B}[?1006h" : "\u{1B}[?1006l\u{1B}[?1000l").utf8))
    }

    /// Writes bytes straight to the terminal (mode switches, OSC 52). Call between frames.
    public func writeRaw(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = write(STDOUT_FILENO, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                offset += n
            }
        }
    }

    /// Puts text on the clipboard through OSC 52.
    public func copyToClipboard(_ text: String) { writeRaw(Clipboard.osc52(text)) }

    /// Reads what stdin has now (never blocks) and decodes it. Returns [] when nothing is there.
    public func readInput(into decoder: inout InputDecoder) -> [InputEvent] {
        var fds = pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)
        guard poll(&fds, 1, 0) > 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: 4096)
        let n = bytes.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
        guard n > 0 else { return [] }
        return decoder.feed(bytes[0..<n])
    }

    /// Checks the kernel's idea of the terminal size; on a change resizes ncurses and returns
    /// the new size (the next present repaints everything).
    public func pollResize() -> Size? {
        var rows: Int32 = 0, cols: Int32 = 0
        guard isRunning, ccb_window_size(STDOUT_FILENO, &rows, &cols) == 0, rows > 0, cols > 0 else { return nil }
        let new = Size(rows: Int(rows), cols: Int(cols))
        guard new != size else { return nil }
        resizeterm(rows, cols)
        size = new
        previous = nil
        return new
    }

    /// Draws a frame: only the cells that differ from the previous frame, then one doupdate.
    public func present(_ buffer: CellBuffer, fullRepaint: Bool = false) {
        guard isRunning else { return }
        if fullRepaint || previous?.size != buffer.size {
            previous = nil
            clearok(ccb_stdscr(), true)
        }
        let spans = CellDiff.spans(from: previous, to: buffer)
        for (row, col, cell) in CellDiff.cellsToWrite(spans, in: buffer) {
            draw(cell, row: row, col: col)
        }
        if let cursor = buffer.cursor {
            setCursor(1)
            wmove(ccb_stdscr(), Int32(cursor.row), Int32(cursor.col))
        } else {
            setCursor(0)
        }
        wnoutrefresh(ccb_stdscr())
        doupdate()
        previous = buffer
    }

    private func setCursor(_ visibility: Int32) {
        guard visibility != cursorVisible else { return }
        curs_set(visibility)
        cursorVisible = visibility
    }

    private func draw(_ cell: Cell, row: Int, col: Int) {
        let pair = pairNumber(for: cell.style)
        if asciiOnly {
            for (offset, char) in TerminalCharset.ascii(cell.text, width: Int(cell.width)).unicodeScalars.enumerated() {
                let wch: [wchar_t] = [wchar_t(bitPattern: char.value), 0]
                _ = wch.withUnsafeBufferPointer { wch in
                    ccb_put_cell(Int32(row), Int32(col + offset), wch.baseAddress, attributes(cell.style.attrs), pair)
                }
            }
            return
        }
        var scalars: [wchar_t] = []
        let limit = Int(ccb_ccharw_max()) - 1
        for scalar in cell.text.unicodeScalars.prefix(max(1, limit)) { scalars.append(wchar_t(bitPattern: scalar.value)) }
        if scalars.isEmpty { scalars.append(32) }
        scalars.append(0)
        _ = scalars.withUnsafeBufferPointer { wch in
            ccb_put_cell(Int32(row), Int32(col), wch.baseAddress, attributes(cell.style.attrs), pair)
        }
    }

    private func attributes(_ attrs: CellAttributes) -> attr_t {
        var result = ccb_a_normal()
        if attrs.contains(.bold) { result |= ccb_a_bold() }
        if attrs.contains(.dim) { result |= ccb_a_dim() }
        if attrs.contains(.underline) { result |= ccb_a_underline() }
        if attrs.contains(.reverse) { result |= ccb_a_reverse() }
        if attrs.contains(.italic) { result |= ccb_a_italic() }
        return result
    }

    private func colorNumber(_ color: CellColor) -> Int32 {
        switch ColorDepth.resolve(color, colorDepth) {
        case .default: -1
        case .ansi(let n): Int32(n)
        case .palette(let n): Int32(n)
        case .rgb(let r, let g, let b): Int32(r) << 16 | Int32(g) << 8 | Int32(b)
        }
    }

    /// Colour pairs are allocated on first use and cached; when ncurses has no pair left the
    /// cell falls back to the default colours (attributes still apply).
    private func pairNumber(for style: CellStyle) -> Int32 {
        guard colorDepth != .none else { return 0 }
        let key = PairKey(fg: colorNumber(style.fg), bg: colorNumber(style.bg))
        if key.fg == -1 && key.bg == -1 { return 0 }
        if let pair = pairs[key] { return pair }
        guard nextPair <= maxPairs, ccb_init_pair(nextPair, key.fg, key.bg) == ccb_ok() else { return 0 }
        pairs[key] = nextPair
        nextPair += 1
        return nextPair - 1
    }
}
