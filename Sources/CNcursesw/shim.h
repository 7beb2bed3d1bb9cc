/* CNcursesw: the wide-character ncurses API for Swift.
   Macros and globals Swift cannot import are wrapped as static inline ccb_* functions. */
#ifndef CCB_CNCURSESW_SHIM_H
#define CCB_CNCURSESW_SHIM_H
#define NCURSES_WIDECHAR 1
#ifndef _XOPEN_SOURCE_EXTENDED
#define _XOPEN_SOURCE_EXTENDED 1
#endif
#include <locale.h>
#include <wchar.h>
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
static inline void ccb_set_locale(void) { setlocale(LC_ALL, ""); }
#endif
