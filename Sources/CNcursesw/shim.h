/* CNcursesw: the wide-character ncurses API for Swift.
   Macros and globals Swift cannot import are wrapped as static inline ccb_* functions.
   Only Sources/BridgeTUI/Backend/ imports this module. */
#ifndef CCB_CNCURSESW_SHIM_H
#define CCB_CNCURSESW_SHIM_H
#define NCURSES_WIDECHAR 1
#ifndef _XOPEN_SOURCE_EXTENDED
#define _XOPEN_SOURCE_EXTENDED 1
#endif
#include <locale.h>
#include <langinfo.h>
#include <string.h>
#include <stdio.h>
#include <limits.h>
#include <wchar.h>
#include <sys/ioctl.h>
#include <unistd.h>
#if __has_include(<ncursesw/curses.h>)
#include <ncursesw/curses.h>
#else
#include <curses.h>
#endif

static inline WINDOW *ccb_stdscr(void) { return stdscr; }
static inline int ccb_lines(void) { return LINES; }
static inline int ccb_cols(void) { return COLS; }
static inline int ccb_color_pair(int n) { return (int)COLOR_PAIR(n); }
static inline int ccb_getmaxy(WINDOW *w) { return getmaxy(w); }
static inline int ccb_getmaxx(WINDOW *w) { return getmaxx(w); }
static inline int ccb_colors(void) { return COLORS; }
static inline int ccb_color_pairs(void) { return COLOR_PAIRS; }
static inline int ccb_err(void) { return ERR; }
static inline int ccb_ok(void) { return OK; }
static inline int ccb_key_code_yes(void) { return KEY_CODE_YES; }
/* Locale: the environment's (LC_ALL, LC_CTYPE, LANG); returns the LC_CTYPE locale name now in
   force ("C" when the environment names none or one that is not installed). */
static inline const char *ccb_set_locale(void) {
    setlocale(LC_ALL, "");
    const char *name = setlocale(LC_CTYPE, NULL);
    return name ? name : "C";
}
/* The character set of the LC_CTYPE locale in force (e.g. "UTF-8", "ANSI_X3.4-1968"). */
static inline const char *ccb_codeset(void) {
    const char *codeset = nl_langinfo(CODESET);
    return codeset ? codeset : "";
}
/* Switches LC_CTYPE alone to `name`; true when that locale exists and really is UTF-8. */
static inline int ccb_use_utf8_ctype(const char *name) {
    if (!setlocale(LC_CTYPE, name)) return 0;
    const char *codeset = nl_langinfo(CODESET);
    if (codeset && (strcmp(codeset, "UTF-8") == 0 || strcmp(codeset, "utf8") == 0)) return 1;
    return 0;
}

/* newterm on the process's stdout/stdin: Swift 6 rejects the global FILE* variables. */
static inline SCREEN *ccb_newterm_stdio(void) { return newterm(NULL, stdout, stdin); }

/* True when the terminal description can address the cursor (a full-screen UI needs that):
   TERM=dumb and hard-copy types cannot. Call after newterm. */
static inline int ccb_can_address_cursor(void) {
    char *cup = tigetstr("cup");
    return cup != NULL && cup != (char *)-1 && tigetflag("hc") <= 0;
}

static inline void ccb_putcap(const char *name) {
    char *s = tigetstr((char *)name);
    if (s != NULL && s != (char *)-1) putp(s);
}

/* After the process was stopped behind ncurses' back (SIGSTOP) and continued: whatever the
   shell did meanwhile, put back program mode (raw tty modes, keypad), the alternate screen and
   plain attributes. The caller then repaints everything. */
static inline void ccb_reenter_program_mode(void) {
    reset_prog_mode();
    ccb_putcap("smcup");
    ccb_putcap("sgr0");
}

/* Attribute bits (macros in curses.h). */
static inline attr_t ccb_a_normal(void) { return WA_NORMAL; }
static inline attr_t ccb_a_bold(void) { return WA_BOLD; }
static inline attr_t ccb_a_dim(void) { return WA_DIM; }
static inline attr_t ccb_a_underline(void) { return WA_UNDERLINE; }
static inline attr_t ccb_a_reverse(void) { return WA_REVERSE; }
static inline attr_t ccb_a_italic(void) {
#ifdef WA_ITALIC
    return WA_ITALIC;
#else
    return WA_NORMAL;
#endif
}

/* Colour pairs beyond SHRT_MAX need the extended API where ncurses has it. */
static inline int ccb_init_pair(int pair, int fg, int bg) {
#if defined(NCURSES_EXT_COLORS)
    return init_extended_pair(pair, fg, bg);
#else
    if (pair > SHRT_MAX || fg > SHRT_MAX || bg > SHRT_MAX) return ERR;
    return init_pair((short)pair, (short)fg, (short)bg);
#endif
}

/* Draws one character cell (a grapheme: base scalar plus combining scalars, NUL-terminated,
   at most CCHARW_MAX scalars are kept) at y, x with attributes and colour pair. */
static inline int ccb_put_cell(int y, int x, const wchar_t *wch, attr_t attrs, int pair) {
    cchar_t cell;
    int rc;
#if defined(NCURSES_EXT_COLORS)
    int ext = pair;
    rc = setcchar(&cell, wch, attrs, (short)(pair > SHRT_MAX ? 0 : pair), &ext);
#else
    rc = setcchar(&cell, wch, attrs, (short)pair, NULL);
#endif
    if (rc == ERR) return ERR;
    return mvadd_wch(y, x, &cell);
}

static inline int ccb_ccharw_max(void) { return CCHARW_MAX; }

/* The terminal's size from the kernel (ioctl is variadic: Swift cannot call it portably). */
static inline int ccb_window_size(int fd, int *rows, int *cols) {
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) != 0) return -1;
    *rows = ws.ws_row;
    *cols = ws.ws_col;
    return 0;
}
#endif
