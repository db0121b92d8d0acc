"""Number formatting shared by tables, captions and answers, so the same value reads the same everywhere."""


def sig(x, digits=4):
    """`digits` significant digits, keeping trailing zeros (1.200, not 1.2)."""
    if x is None:
        return "n/a"
    if x == 0:
        return "0"
    text = f"{x:#.{digits}g}"
    if "e" in text:
        mant, exp = text.split("e")
        return f"{mant.rstrip('.')}e{int(exp)}"
    return text.rstrip(".")


def secs(x):
    return "n/a" if x is None else sig(x, 4)


def fixed(x, places=3):
    return "n/a" if x is None else f"{x:.{places}f}"


def ratio(x):
    return "n/a" if x is None else f"{x:.3f}"


def interval(ci, f=secs):
    return "n/a" if ci is None else f"[{f(ci[0])}, {f(ci[1])}]"


def pvalue(p):
    if p is None:
        return "n/a"
    return f"{p:.3f}" if p >= 0.001 else "<0.001"


def si_time(seconds):
    """A time with a readable unit: 3.2 ms, 410 us, 1.25 s."""
    if seconds is None:
        return "n/a"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)):
        text = sig(seconds / scale, 3)
        # Chosen by the rounded value: 0.9999996e-6 s reads "1.00 us", not "1.00e3 ns".
        if abs(float(text)) >= 1 or unit == "ns":
            return f"{text} {unit}"
    return f"{seconds} s"


def si_rate(x):
    if x is None:
        return "n/a"
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3), ("", 1.0)):
        if abs(x) >= scale or unit == "":
            return f"{sig(x / scale, 3)}{unit}"
    return str(x)


def plural(n, word, words=None):
    return f"{n} {word if n == 1 else (words or word + 's')}"


def join_and(items):
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
