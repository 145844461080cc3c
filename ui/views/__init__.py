"""Streamlit page scripts, run by `st.navigation` from `ui/app.py`.

Not named `pages/`: that name next to the main script turns on Streamlit's legacy multipage
discovery, under which a page script can run without `app.py` (seen with AppTest).
"""
