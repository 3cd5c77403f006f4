% rebase('base.tpl', title='Set a new password')
<h1>Set a new password</h1>
% if valid:
<form method="post">
  <input type="hidden" name="csrf_token" value="{{csrf_token}}">
  % include('accounts/_field.tpl', name='password', label='Password', type='password')
  % include('accounts/_field.tpl', name='confirm', label='Confirm password', type='password')
  <button type="submit">Set password</button>
</form>
% else:
<p class="error" role="alert">This link is old or has been used.
  <a href="/accounts/password/reset">Ask for a new one</a>.</p>
% end
