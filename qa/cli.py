"""The ``qa`` command: ``index``, ``ask``, ``status``, ``eval`` and ``serve``; turns the library's errors into messages.

A thin layer: each subcommand builds ``Settings`` from its flags and the environment and calls the
library. Heavy imports happen inside the subcommand that needs them. Results go to stdout; progress,
warnings and errors go to stderr.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

import index  # noqa: F401  (offline environment first)
from qa.errors import QAError
from qa.settings import Settings


def _settings(**overrides) -> Settings:
    return Settings.from_env(**overrides)


class _Group(click.Group):
    """Turns the project's own errors into a one-line message and exit code 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except QAError as err:
            click.echo(f"Error: {err}", err=True)
            sys.exit(1)


@click.group(cls=_Group)
@click.version_option(package_name="news-qa")
def cli() -> None:
    """Ask questions about a folder of news articles; answers cite the articles' own sentences."""




def store_option(command):
    """``--store`` and ``--chroma-url``: where the index lives."""
    command = click.option("--chroma-url", help="Use the index on this Chroma server (http://host:port) "
                           "instead of the store folder [QA_CHROMA_URL].")(command)
    return click.option("--store", type=click.Path(path_type=Path),
                        help="Store folder [QA_STORE, default .qa]; with --chroma-url, only a lock and a cache.")(command)


def llm_option(command):
    """``--llm-url``, ``--llm-model`` and ``--llm-timeout``: answers written by an OpenAI-compatible LLM and checked
    (the key only from QA_LLM_API_KEY: a flag would show it in the process list)."""
    command = click.option("--llm-timeout", type=float, help="Seconds for a generated answer before the extractive "
                           "one is given [QA_LLM_TIMEOUT, default 60].")(command)
    command = click.option("--llm-model", help="Model name sent to the LLM server [QA_LLM_MODEL].")(command)
    return click.option("--llm-url", help="An OpenAI-compatible base URL (http://host:port/v1): answers are written "
                        "by that LLM and every sentence checked against its citation [QA_LLM_URL; key: QA_LLM_API_KEY]."
                        )(command)


corpus_option = click.option("--corpus", type=click.Path(path_type=Path), help="Corpus folder [QA_CORPUS, default seeds].")


@cli.command("index")
@corpus_option
@store_option
@click.option("--rebuild", is_flag=True, help="Delete the store and index every article again.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def index_command(corpus, store, chroma_url, rebuild, quiet) -> None:
    """Index new and changed articles of the corpus folder (only those are embedded)."""
    from index import build

    s = _settings(corpus=corpus, store=store, chroma_url=chroma_url)
    summary = build(s.corpus, s.store, model_path=s.embed_model, chunk_words=s.chunk_words,
                    overlap=s.chunk_overlap, rebuild=rebuild, progress=not quiet,
                    chroma_url=s.chroma_url, namespace=s.namespace)
    for line in summary.lines():
        click.echo(line)


@cli.command("ask")
@click.argument("question")
@store_option
@click.option("--json", "as_json", is_flag=True, help="Print the answer as one JSON object.")
@click.option("--top-k", type=int, help="Passages to return.")
@click.option("--since", help="Answer from articles published on or after this date (YYYY-MM-DD).")
@click.option("--until", help="Answer from articles published on or before this date (YYYY-MM-DD).")
@click.option("--history", type=click.File("r", encoding="utf-8"),
              help='The conversation so far, for a follow-up ("What did he say next?"): a JSON file (- for stdin) '
                   'holding [{"role": "user" or "assistant", "content": "..."}, ...], oldest first.')
@llm_option
def ask_command(question, store, chroma_url, as_json, top_k, since, until, history, llm_url, llm_model,
                llm_timeout) -> None:
    """Answer QUESTION from the indexed articles, with numbered sources (each with its outlet and
    publication date, or "date not stated")."""
    from qa.answer import engine_for, passage_line, source_line
    from qa.errors import BadQuestionError
    from qa.present import date_label, read_as_line, unsure_line
    from qa.retrieve import dated

    messages = None
    if history is not None:
        try:
            messages = json.load(history)
        except ValueError as err:
            raise BadQuestionError(f"--history is not JSON ({err})") from None
    engine = engine_for(_settings(store=store, chroma_url=chroma_url, top_k=top_k, llm_url=llm_url,
                                  llm_model=llm_model, llm_timeout=llm_timeout))
    with dated(since, until):
        answer = engine.ask(question, messages)
    if as_json:
        click.echo(json.dumps(answer.to_dict(), ensure_ascii=False))
        return
    if answer.read_as:
        click.echo(read_as_line(answer))
    if answer.unsure:
        click.echo(unsure_line(answer))
    click.echo(answer.text)
    unsupported = [c for c in answer.claims if not c.supported]
    if answer.mode == "generated" and unsupported:
        click.echo("\nLeft out, not supported by the sentences they cite:")
        for c in unsupported:
            click.echo(f"- {c.text} ({c.reason})")
    if answer.note:
        click.echo(f"\nNote: {answer.note}", err=True)
    if answer.citations:
        click.echo("\nSources:")
        for c in answer.citations:
            click.echo(source_line(c, date_label(c.date)))
    elif answer.passages:
        click.echo("\nClosest passages (no sentence in them answered with enough confidence; check for yourself):")
        for p in answer.passages[:3]:
            click.echo(passage_line(p))


@cli.command("status")
@store_option
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.option("--sample", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Chunk ids looked up in each part (a smaller index is checked whole).")
def status_command(store, chroma_url, as_json, sample) -> None:
    """Articles, chunks, pending articles, keyword generation and last indexing time, and whether the
    catalog, the vectors and the keyword snapshot agree; exit 1 with the reason when they do not."""
    from index.health import check
    from index.store import open_store

    s = _settings(store=store, chroma_url=chroma_url)
    health = check(open_store(s.store, s.chroma_url, s.namespace), sample)
    if as_json:
        click.echo(json.dumps(health.to_dict()))
    else:
        for line in health.lines():
            click.echo(line)
    if not health.healthy:
        click.echo("Error: the index is not consistent: " + "; ".join(health.problems), err=True)
        sys.exit(1)


@cli.command("eval")
@click.option("--set", "qa_set", type=click.Path(exists=True, path_type=Path), help="Q&A set (JSON Lines).")
@click.option("--corpora", default="seeds,seeds+lee,seeds+lee+wiki", show_default=True,
              help="Comma-separated eval corpora (evals/corpora/README.md), built and indexed under --workdir.")
@click.option("--workdir", type=click.Path(path_type=Path), default=Path(".qa-eval"), show_default=True,
              help="Where the eval corpora and their indexes are kept between runs.")
@click.option("--reports", type=click.Path(path_type=Path), default=Path("reports"), show_default=True)
@click.option("--fit", is_flag=True, help="Refit the answer selector on the tune split (python -m evals.fit) first.")
@click.option("--min-answer", type=float, help="Floor for answer accuracy, test split, every corpus.")
@click.option("--min-citation", type=float, help="Floor for citation support, test split, every corpus.")
@click.option("--min-refusal-recall", type=float, help="Floor for refusal recall on unanswerable items.")
@click.option("--max-false-refusal", type=float, help="Ceiling for refusals of answerable items.")
@click.option("--min-all-sources", type=float, help="Floor for citing every article on multi-source items.")
@click.option("--min-hit5", type=float, help="Floor for retrieval hit@5.")
@click.option("--max-gap", type=float, help="Ceiling for the tune-minus-test gap in answer accuracy.")
@click.option("--split", type=click.Choice(["all", "tune", "test"]), default="all", show_default=True,
              help="Run only the items of one split (a generated run over every item takes long).")
@llm_option
def eval_command(qa_set, corpora, workdir, reports, fit, min_answer, min_citation, min_refusal_recall,
                 max_false_refusal, min_all_sources, min_hit5, max_gap, split, llm_url, llm_model, llm_timeout) -> None:
    """Run the Q&A set over each eval corpus with one configuration, beside a vector-search baseline;
    report the tune and test splits; exit 1 when a floor is missed on the test split of any corpus."""
    from evals.corpora import CORPORA
    from evals.report import gap, text, write
    from evals.run import QA_SET, evaluate, load_set

    names = [c.strip() for c in corpora.split(",") if c.strip()]
    unknown = [c for c in names if c not in CORPORA]
    if unknown or not names:
        raise click.BadParameter(f"unknown corpus {', '.join(unknown)}; known: {', '.join(CORPORA)}", param_hint="--corpora")
    if fit:
        from evals.fit import main as fit_main

        fit_main(["--workdir", str(workdir)])
    from evals.run import split_of

    items = [i for i in load_set(qa_set or QA_SET) if split in ("all", split_of(i["id"]))]
    report = evaluate(_settings(llm_url=llm_url, llm_model=llm_model, llm_timeout=llm_timeout), items, names, workdir)
    paths = write(report, reports)
    click.echo(text(report))
    click.echo(f"\nreports: {', '.join(str(p) for p in paths.values())}", err=True)
    floors = {"answer_accuracy": min_answer, "citation_support": min_citation, "abstain_recall": min_refusal_recall,
              "all_sources_cited": min_all_sources, "hit@5": min_hit5}
    missed = []
    for corpus, result in report["corpora"].items():
        test = result["systems"]["system"]["test"]["overall"]
        missed += [f"{corpus}: {m} {test[m]:.3f} < {floor}" for m, floor in floors.items()
                   if floor is not None and test[m] < floor]
        if max_false_refusal is not None and test["false_abstention"] > max_false_refusal:
            missed.append(f"{corpus}: false refusal {test['false_abstention']:.3f} > {max_false_refusal}")
        if max_gap is not None and split == "all" and gap(result) > max_gap:
            missed.append(f"{corpus}: answer accuracy tune-test gap {gap(result):.3f} > {max_gap}")
        errors = result["systems"]["system"]["all"]["overall"]["errors"]
        if errors:
            missed.append(f"{corpus}: {errors} items raised an error")
    if missed:
        click.echo("quality floor missed: " + "; ".join(missed), err=True)
        sys.exit(1)


@cli.command("serve")
@corpus_option
@store_option
@click.option("--host", help="Address to bind [QA_HOST, default 127.0.0.1].")
@click.option("--port", type=int, help="Port [QA_PORT, default 7860].")
@click.option("--mcp", is_flag=True, default=None, help="Also serve the ask, search and article tools over MCP "
              "at /gradio_api/mcp/ [QA_MCP=1].")
@llm_option
def serve_command(corpus, store, chroma_url, host, port, mcp, llm_url, llm_model, llm_timeout) -> None:
    """Open the web chat and its OpenAI-compatible /v1 (builds the index first if there is none)."""
    from ui.app import serve

    serve(_settings(corpus=corpus, store=store, chroma_url=chroma_url, host=host, port=port, mcp=mcp, llm_url=llm_url,
                    llm_model=llm_model, llm_timeout=llm_timeout))


def main() -> None:
    cli(prog_name="qa")


if __name__ == "__main__":
    main()
