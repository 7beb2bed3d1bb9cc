// DemoScripts: the three built-in personalities for `--script chatty|slow|crashy`, embedded as
// text so the binary needs no resource files. `cc-bridge-agent show-script NAME` prints one, as a
// starting point for your own script.

public enum DemoScripts {
    public static let all: [String: String] = ["chatty": chatty, "slow": slow, "crashy": crashy]

    /// Colours, a braille spinner, brisk streaming.
    public static let chatty = #"""
    # chatty: colours and a spinner; three replies, used in turn.
    spinner 12 80 Thinking…
    color cyan
    say Sure! You asked: {prompt}
    color reset
    type 12 Here is what I found, streamed the way a model types:
    color green
    say   ✔ the pipes are FIFOs with mode 0660
    say   ✔ output is buffered while nobody reads
    color reset
    say   • and \e[1mbold\e[0m, \e[3mitalic\e[0m and \e[4munderlined\e[0m words work too
    sleep 150
    color yellow
    say Anything else?
    color reset
    ---
    spinner 8 100 Pondering “{prompt}”…
    color magenta
    print Interesting question.
    color reset
    say  Let me list a few colours:
    say   \e[31mred\e[0m \e[32mgreen\e[0m \e[33myellow\e[0m \e[34mblue\e[0m \e[35mmagenta\e[0m \e[36mcyan\e[0m \e[90mgray\e[0m
    type 8 Streaming a longer line now so that you can watch it arrive piece by piece, with a wide character or two: 日本語, ✨.
    ---
    spinner 5 120 Checking…
    color 1;32
    say Done.
    color reset
    say You said: {prompt}
    """#

    /// Long pauses and slow streaming, for timeouts, the busy indicator and interrupts.
    public static let slow = #"""
    # slow: long pauses, slow streaming.
    sleep 1500
    type 90 Thinking very slowly about "{prompt}"…
    sleep 2500
    type 150 Still here. Almost there.
    sleep 1500
    say Done, finally.
    ---
    spinner 40 100 Waiting for inspiration…
    type 120 Here it comes, one character at a time.
    sleep 3000
    say That was reply two.
    """#

    /// Crashes mid-reply on every third prompt, so a supervisor (`supervise`) restarts it.
    public static let crashy = #"""
    # crashy: every third prompt crashes the agent in the middle of its reply (exit status 3).
    say Reply one to: {prompt}
    ---
    color yellow
    say Reply two. I feel a bit unstable…
    color reset
    ---
    type 25 I am about to crash in the middle of this sent
    crash 3
    """#
}
