// BuiltinThemes: the five shipped theme files, compiled into the binary so a copy of it placed
// anywhere has all of them. Generated from themes/*.theme by scripts/gen-builtin-themes; a test
// fails when this file and themes/ disagree.

enum BuiltinThemes {
    static let text: [String: String] = [
        "default": #"""
# default: the terminal's own background and foreground, standard colours and attributes.
# Readable on light and dark terminals alike. Same values as Theme.builtinDefault.
# Syntax: role = [fg] [on bg] [bold] [dim] [underline] [reverse] [italic]
# Colours: default, black, red, green, yellow, blue, magenta, cyan, white,
#          bright-black ... bright-white, #rrggbb, color(0-255).

list.fg              = default
list.selected        = reverse bold
list.unread          = bold

state.ok             = green
state.warn           = yellow
state.error          = red bold
state.unknown        = dim

output.fg            = default
output.bg            = default
output.match         = reverse
output.match.current = yellow reverse bold
output.timestamp     = dim
output.prompt        = cyan bold
output.heading       = bold underline
output.list          = cyan
output.code          = yellow
output.tool          = magenta bold
output.tool.result   = dim
output.footer        = dim italic

title.fg             = bold
title.bg             = default
title.paused         = yellow bold

status.fg            = reverse
status.bg            = default
status.error         = red reverse bold
status.key           = reverse bold

prompt.fg            = default
prompt.cursor        = reverse
prompt.label         = bold

border               = dim
focus                = cyan bold

help.fg              = default
help.bg              = default
help.key             = bold
help.title           = bold underline

health.ok            = green
health.warn          = yellow
health.error         = red bold
health.unknown       = dim
"""#,
        "dark": #"""
# dark: for dark terminals; 24-bit colours that fall back to the 256 and 16 colour palettes.

list.fg              = #d0d0d0
list.selected        = #101010 on #5fafd7 bold
list.unread          = #ffd75f bold

state.ok             = #5fd75f
state.warn           = #ffd75f
state.error          = #ff5f5f bold
state.unknown        = #808080

output.fg            = #d0d0d0
output.bg            = #1c1c1c
output.match         = #101010 on #d7af5f
output.match.current = #101010 on #ffaf00 bold
output.timestamp     = #6c6c6c
output.prompt        = #5fd7ff bold
output.heading       = #ffd75f bold
output.list          = #87d7ff
output.code          = #d7af87
output.tool          = #d787ff bold
output.tool.result   = #8a8a8a
output.footer        = #8a8a8a italic

title.fg             = #ffffff bold
title.bg             = #303a4a
title.paused         = #ffd75f on #303a4a bold

status.fg            = #d0d0d0
status.bg            = #303030
status.error         = #ffffff on #af0000 bold
status.key           = #5fafd7 on #303030 bold

prompt.fg            = #ffffff
prompt.cursor        = reverse
prompt.label         = #5fafd7 bold

border               = #4e4e4e
focus                = #5fd7ff bold

help.fg              = #d0d0d0
help.bg              = #262626
help.key             = #5fafd7 bold
help.title           = #ffffff bold underline

health.ok            = #5fd75f
health.warn          = #ffd75f
health.error         = #ff5f5f bold
health.unknown       = #808080

# How the agent's ANSI colours are drawn (0-7 normal, 8-15 bright).
ansi.1               = #ff6b6b
ansi.2               = #87d75f
ansi.4               = #5f87ff
"""#,
        "light": #"""
# light: for light terminals; dark text, soft highlights.

list.fg              = #303030
list.selected        = #ffffff on #005f87 bold
list.unread          = #875f00 bold

state.ok             = #008700
state.warn           = #af5f00
state.error          = #d70000 bold
state.unknown        = #8a8a8a

output.fg            = #262626
output.bg            = #fafafa
output.match         = #000000 on #ffd787
output.match.current = #000000 on #ffaf00 bold
output.timestamp     = #8a8a8a
output.prompt        = #005f87 bold
output.heading       = #5f0087 bold underline
output.list          = #005f87
output.code          = #875f00
output.tool          = #870087 bold
output.tool.result   = #6c6c6c
output.footer        = #6c6c6c italic

title.fg             = #000000 bold
title.bg             = #d7e3f0
title.paused         = #875f00 on #d7e3f0 bold

status.fg            = #303030
status.bg            = #e4e4e4
status.error         = #ffffff on #d70000 bold
status.key           = #005f87 on #e4e4e4 bold

prompt.fg            = #000000
prompt.cursor        = reverse
prompt.label         = #005f87 bold

border               = #bcbcbc
focus                = #005f87 bold underline

help.fg              = #262626
help.bg              = #f0f0f0
help.key             = #005f87 bold
help.title           = #000000 bold underline

health.ok            = #008700
health.warn          = #af5f00
health.error         = #d70000 bold
health.unknown       = #8a8a8a

ansi.3               = #af8700
ansi.7               = #585858
ansi.11              = #875f00
ansi.15              = #262626
"""#,
        "high-contrast": #"""
# high-contrast: the 16 standard colours only, bright on black, strong attributes.

list.fg              = bright-white
list.selected        = black on bright-yellow bold
list.unread          = bright-yellow bold

state.ok             = bright-green bold
state.warn           = bright-yellow bold
state.error          = bright-red bold underline
state.unknown        = white

output.fg            = bright-white
output.bg            = black
output.match         = black on bright-cyan bold
output.match.current = black on bright-yellow bold underline
output.timestamp     = bright-cyan
output.prompt        = bright-yellow bold
output.heading       = bright-white bold underline
output.list          = bright-cyan
output.code          = bright-yellow
output.tool          = bright-magenta bold
output.tool.result   = white
output.footer        = white italic

title.fg             = black bold
title.bg             = bright-white
title.paused         = black on bright-yellow bold

status.fg            = black
status.bg            = bright-white
status.error         = bright-white on red bold
status.key           = black on bright-cyan bold

prompt.fg            = bright-white bold
prompt.cursor        = reverse
prompt.label         = bright-yellow bold

border               = bright-white
focus                = bright-yellow bold underline

help.fg              = bright-white
help.bg              = black
help.key             = bright-yellow bold
help.title           = bright-white bold underline

health.ok            = bright-green bold
health.warn          = bright-yellow bold
health.error         = bright-red bold underline
health.unknown       = white
"""#,
        "monochrome": #"""
# monochrome: no colour at all, attributes only (what NO_COLOR selects).
# The agent's colours are dropped; its bold/underline/reverse are kept.

agent-colors         = off
list.fg              = default
list.selected        = reverse
list.unread          = bold

state.ok             = default
state.warn           = bold
state.error          = bold underline
state.unknown        = dim

output.fg            = default
output.bg            = default
output.match         = reverse
output.match.current = reverse bold underline
output.timestamp     = dim
output.prompt        = bold
output.heading       = bold underline
output.list          = default
output.code          = italic
output.tool          = bold
output.tool.result   = dim
output.footer        = dim

title.fg             = bold
title.bg             = default
title.paused         = bold underline

status.fg            = reverse
status.bg            = default
status.error         = reverse bold
status.key           = reverse bold

prompt.fg            = default
prompt.cursor        = reverse
prompt.label         = bold

border               = default
focus                = bold underline

help.fg              = default
help.bg              = default
help.key             = bold
help.title           = bold underline

health.ok            = default
health.warn          = bold
health.error         = bold underline
health.unknown       = dim
"""#,
    ]
}
