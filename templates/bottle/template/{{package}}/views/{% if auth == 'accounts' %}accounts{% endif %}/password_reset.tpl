% rebase('base.tpl', title='Reset your password')
<h1>Reset your password</h1>
% if sent:
<p role="status">If an account has this email, a link to set a new password is on its way.
  It works for an hour.</p>
% end
<form method="post">
  <input type="hidden" name="csrf_token" value="{{csrf_token}}">
  % include('accounts/_field.tpl', name='email', label='Email', type='email', errors={})
  <button type="submit">Send reset link</button>
</form>
