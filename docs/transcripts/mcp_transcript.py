"""Writes docs/transcripts/mcp.md's body: starts `cairn mcp` through the official MCP Python SDK
(as Claude Desktop, LM Studio and Jan do), lists its tools and calls each.

usage: mcp_transcript.py CAIRN [CAIRN_ARGS...]
"""
import asyncio
import json
import os
import sys

from mcp import ClientSession, StdioServerParameters, stdio_client

def show(v):
    return json.dumps(v, indent=2, ensure_ascii=False)

def trim(o):
    """Long texts cut for the page (the tools return them whole)."""
    if isinstance(o, dict):
        return {k: trim(v) for k, v in o.items()}
    if isinstance(o, list):
        return [trim(v) for v in o]
    if isinstance(o, str) and len(o) > 220:
        return o[:220] + "…"
    return o

async def main():
    command, args = sys.argv[1], sys.argv[2:]
    server = StdioServerParameters(command=command, args=args, env=dict(os.environ))
    async with stdio_client(server) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            print(f"initialize → server {init.server_info.name} {init.server_info.version}, protocol {init.protocol_version}")
            print(f"instructions: {init.instructions}\n")
            tools = await session.list_tools()
            print("tools/list →")
            for t in tools.tools:
                props = ", ".join(f"{k}{'' if k in (t.input_schema.get('required') or []) else '?'}" for k in (t.input_schema.get("properties") or {}))
                print(f"  {t.name}({props}): {t.description}")
            print()
            for name, arguments in [
                ("list_documents", {}),
                ("search_documents", {"query": "What does the DMCA say about circumvention of copyright protection systems?", "k": 1}),
                ("search_documents", {"query": "Which team won Super Bowl 50?", "k": 2}),
            ]:
                r = await session.call_tool(name, arguments)
                print(f"tools/call {name} {json.dumps(arguments)} → isError={bool(r.is_error)}")
                print(show(trim(r.structured_content)))
                print()
                if name == "search_documents":
                    first = r.structured_content["results"][0]["chunk_id"]
            args2 = {"chunk_id": first, "context": 200}
            r = await session.call_tool("get_passage", args2)
            print(f"tools/call get_passage {json.dumps(args2)} → isError={bool(r.is_error)}")
            print(show(trim(r.structured_content)))
            print()
            r = await session.call_tool("get_passage", {"chunk_id": "no-such-chunk"})
            print(f'tools/call get_passage {{"chunk_id": "no-such-chunk"}} → isError={bool(r.is_error)}')
            print("  " + r.content[0].text)

asyncio.run(main())
