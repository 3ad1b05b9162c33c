"""The one table bench/run prints: measure, figure, ratio to its reference."""


class Table:
    def __init__(self):
        self.rows = []  # (measure, figure, ratio, reference)
        self.notes = []

    def add(self, measure, figure, ratio="", reference=""):
        self.rows.append((measure, figure, ratio, reference))

    def note(self, text):
        self.notes.append(text)

    def print(self, machine, seconds, args):
        print()
        print(f"Task Runner benchmark, {machine}")
        print(f"wrk -t{args.threads} -c{args.connections}, {args.seconds} s per figure; "
              f"run took {seconds / 60:.1f} min")
        print()
        print("| measure | figure | ratio | reference |")
        print("|---|---|---|---|")
        for row in self.rows:
            print("| " + " | ".join(row) + " |")
        for text in self.notes:
            print(f"\nNote: {text}")


def rate(value, unit="req/s"):
    return f"{value:,.0f} {unit}"


def ratio(value, reference):
    return f"{value / reference:.2f}" if reference else "n/a"


def wrk_figure(figure):
    text = f"{figure['rps']:,.0f} req/s, p50 {figure['p50']:.1f} ms, p99 {figure['p99']:.1f} ms"
    bad = figure["non2xx"] + figure["socket_errors"]
    if bad:
        text += f", **{figure['non2xx']} non-2xx, {figure['socket_errors']} socket errors**"
    return text
