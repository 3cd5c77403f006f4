<%inherit file="layout.mako"/>
<%def name="title()">Not found</%def>

<h1>404 Not Found</h1>
<p>There is no page at <code>${request.path_info}</code>.</p>
